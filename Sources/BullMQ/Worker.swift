import Foundation
import Logging
import NIOConcurrencyHelpers
import RedisClient

/// A failure that must not be retried, whatever the job's attempts say.
public struct UnrecoverableError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A job a worker is processing, with its lock token.
public struct ActiveJob: Sendable {
    public let job: Job
    public let token: String
    let queue: Queue

    /// Records progress (JSON text: a number or an object).
    public func updateProgress(_ json: String) async throws {
        try await queue.updateProgress(job.id, progress: json)
    }
}

/// Processes jobs of one queue with BullMQ's protocol: marker-based blocking (no polling), locks with
/// renewal, the stalled-job sweep, retries with backoff, progress, cancel and graceful close.
public final class Worker: Sendable {
    /// How the worker behaves; the defaults are Python bullmq's.
    public struct Options: Sendable {
        public var concurrency = 1
        public var lockDuration: Duration = .seconds(30)
        /// How often locks are renewed (and lost locks noticed); default lockDuration / 4.
        public var lockRenewInterval: Duration?
        public var stalledInterval: Duration = .seconds(30)
        public var maxStalledCount = 1
        /// The longest a blocking wait for new jobs lasts before checking again.
        public var drainDelay: Duration = .seconds(5)
        /// Used for jobs whose own options say nothing.
        public var removeOnComplete: JobOptions.KeepJobs?
        public var removeOnFail: JobOptions.KeepJobs?
        /// Runs each slot's own steps (fetching and finishing jobs) on one of the Redis client's event
        /// loops, so a round trip to Redis wakes no other thread.
        public var slotsOnEventLoops = true
        /// Runs the processor on its slot's event loop too, as Python bullmq runs everything on one
        /// asyncio thread. Only for processors that never block: a blocking one stalls that loop's Redis traffic.
        public var processorOnEventLoop = false

        public init() {}
    }

    /// Returns the job's return value as JSON text.
    public typealias Processor = @Sendable (ActiveJob) async throws -> String

    public let queue: Queue
    let client: RedisClient
    let options: Options
    let processor: Processor
    let logger: Logger
    let workerId = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    let state = NIOLockedValueBox(State())

    struct State {
        var closing = false
        var releaseOnClose = false
        var tokenCounter = 0
        var running: [String: RunningJob] = [:]
        var wakers: [Int: AsyncStream<Void>.Continuation] = [:]
        var idleSlots = 0
        var blockUntil: Int64 = 0
        var blocker: RedisConnection?
    }

    struct RunningJob {
        let token: String
        let task: Task<String, any Error>
        var cancelled = false
    }

    public init(queue: Queue, options: Options = Options(), logger: Logger = Logger(label: "bullmq.worker"), processor: @escaping Processor) {
        self.queue = queue
        client = queue.client
        self.options = options
        self.processor = processor
        self.logger = logger
    }

    // MARK: - Running

    /// Runs until `close()`; returns once every slot has stopped.
    public func run() async throws {
        try await client.preload(Scripts.all)
        await withTaskGroup(of: Void.self) { group in
            let loops = client.eventLoops
            for slot in 0..<max(1, options.concurrency) {
                if options.slotsOnEventLoops, !loops.isEmpty {
                    let executor = EventLoopExecutor(loops[slot % loops.count])
                    group.addTask(executorPreference: executor) { await self.runSlot(slot, executor: executor) }
                } else {
                    group.addTask { await self.runSlot(slot, executor: nil) }
                }
            }
            group.addTask { await self.watchMarker() }
            group.addTask { await self.renewLocks() }
            group.addTask { await self.sweepStalledJobs() }
            // Slots end on close; then stop the helpers.
            for _ in 0..<max(1, options.concurrency) { await group.next() }
            group.cancelAll()
        }
        await state.withLockedValue { $0.blocker }?.close()
    }

    /// Stops taking jobs. Running jobs finish, or with `release` are stopped and given back to the queue.
    public func close(release: Bool = false) {
        let (wakers, running, blocker) = state.withLockedValue { state in
            state.closing = true
            state.releaseOnClose = release
            return (Array(state.wakers.values), Array(state.running.values), state.blocker)
        }
        for waker in wakers { waker.yield() }
        if release { for job in running { job.task.cancel() } }
        if let blocker { Task { await blocker.close() } }
    }

    /// Cancels a job this worker is running; its processor sees task cancellation. False when not running here.
    @discardableResult
    public func cancel(_ jobId: String) -> Bool {
        let task = state.withLockedValue { state -> Task<String, any Error>? in
            state.running[jobId]?.cancelled = true
            return state.running[jobId]?.task
        }
        task?.cancel()
        return task != nil
    }

    /// Ids of the jobs running now.
    public var runningJobIds: [String] { state.withLockedValue { Array($0.running.keys) } }

    var isClosing: Bool { state.withLockedValue { $0.closing } }

    func nextToken() -> String {
        state.withLockedValue { state in
            state.tokenCounter += 1
            return "\(workerId):\(state.tokenCounter)"
        }
    }


    // MARK: - Slots

    func runSlot(_ slot: Int, executor: EventLoopExecutor?) async {
        let (wakeups, waker) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.withLockedValue { $0.wakers[slot] = waker }
        var wakeIterator = wakeups.makeAsyncIterator()
        var next: ActiveJob?
        var failures = 0
        while !isClosing {
            do {
                if next == nil { next = try await fetch() }
                if let job = next {
                    next = try await process(job, executor: executor)
                    failures = 0
                } else {
                    state.withLockedValue { $0.idleSlots += 1 }
                    _ = await wakeIterator.next()
                    state.withLockedValue { $0.idleSlots -= 1 }
                }
            } catch {
                failures += 1
                next = nil
                logger.warning("worker slot error; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(min(5000, 100 * (1 << min(failures, 6)))))
            }
        }
        state.withLockedValue { _ = $0.wakers.removeValue(forKey: slot) }
    }

    /// Takes the next job, or nil when none is ready (remembering when a delayed one is due).
    func fetch() async throws -> ActiveJob? {
        let (job, due) = try await queue.fetchNextJob(token: nextToken(), lockDuration: options.lockDuration)
        if let due { state.withLockedValue { $0.blockUntil = due } }
        return job
    }

    /// Runs one job and records its outcome; returns the next job when one was fetched in the same call.
    func process(_ active: ActiveJob, executor: EventLoopExecutor? = nil) async throws -> ActiveJob? {
        let job = active.job
        if let deferred = job.deferredFailure {
            return try await finish(active, outcome: .failure(UnrecoverableError(deferred)))
        }
        let processor = self.processor
        let preferred: (any TaskExecutor)? = options.processorOnEventLoop ? executor : nil
        let task = Task(executorPreference: preferred ?? globalConcurrentExecutor) { try await processor(active) }
        state.withLockedValue { $0.running[job.id] = RunningJob(token: active.token, task: task) }
        let result = await task.result
        let (cancelled, releasing) = state.withLockedValue { state -> (Bool, Bool) in
            let entry = state.running.removeValue(forKey: job.id)
            return (entry?.cancelled ?? false, state.closing && state.releaseOnClose)
        }
        if case .failure = result, releasing && !cancelled {
            try await queue.release(active)
            return nil
        }
        if case .failure = result, cancelled {
            return nil // cancelled on purpose: whoever cancelled it has recorded the outcome
        }
        return try await finish(active, outcome: result)
    }

    /// Completes, retries or fails the job in one script call, fetching the next job in the same call.
    func finish(_ active: ActiveJob, outcome: Result<String, any Error>) async throws -> ActiveJob? {
        let fetchNext = isClosing ? nil : (token: nextToken(), lockDuration: options.lockDuration)
        let result: Queue.FinishOutcome
        switch outcome {
        case .success(let value):
            result = try await queue.complete(active, returnValue: value, keep: options.removeOnComplete, fetchNext: fetchNext)
        case .failure(let error):
            result = try await queue.fail(
                active, reason: String(describing: error), retryable: !(error is UnrecoverableError),
                keep: options.removeOnFail, fetchNext: fetchNext)
        }
        switch result {
        case .finished(let next): return next
        case .retried: return nil
        case .lockLost(let code):
            logger.warning("job finished without its lock", metadata: ["jobId": "\(active.job.id)", "code": "\(code)"])
            return nil
        }
    }

    // MARK: - Blocking on the marker

    /// Blocks on the marker (BZPOPMIN on its own connection) while slots are idle, and wakes them.
    func watchMarker() async {
        var failures = 0
        while !Task.isCancelled && !isClosing {
            if state.withLockedValue({ $0.idleSlots }) == 0 {
                try? await Task.sleep(for: .milliseconds(5))
                continue
            }
            do {
                let connection = try await blockingConnection()
                let now = Queue.now()
                let until = state.withLockedValue { $0.blockUntil }
                var timeout = options.drainDelay
                if until > now { timeout = min(timeout, .milliseconds(until - now)) }
                let due = try await queue.waitForMarker(timeout: timeout, on: connection)
                failures = 0
                if let due {
                    state.withLockedValue { $0.blockUntil = due }
                    continue
                }
                state.withLockedValue { $0.blockUntil = 0 }
                wakeIdleSlots()
            } catch {
                if isClosing { return }
                failures += 1
                state.withLockedValue { $0.blocker = nil }
                try? await Task.sleep(for: RedisClient.reconnectDelay(afterFailures: failures))
                wakeIdleSlots()
            }
        }
    }

    func blockingConnection() async throws -> RedisConnection {
        if let existing = state.withLockedValue({ $0.blocker }), existing.isActive { return existing }
        let connection = try await client.makeDedicatedConnection()
        state.withLockedValue { $0.blocker = connection }
        return connection
    }

    func wakeIdleSlots() {
        for waker in state.withLockedValue({ Array($0.wakers.values) }) { waker.yield() }
    }

    // MARK: - Locks and stalled jobs

    /// Renews the locks of running jobs; a job whose lock is gone is cancelled here.
    func renewLocks() async {
        let interval = options.lockRenewInterval ?? options.lockDuration / 4
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let held = state.withLockedValue { $0.running.map { (id: $0.key, token: $0.value.token) } }
            guard let lost = try? await queue.extendLocks(held, duration: options.lockDuration) else { continue }
            for id in lost {
                logger.warning("lost the lock of a running job; stopping it", metadata: ["jobId": "\(id)"])
                cancel(id)
            }
        }
    }

    /// Runs the stalled-job sweep every `stalledInterval` (the first one right away).
    func sweepStalledJobs() async {
        while !Task.isCancelled {
            do {
                let recovered = try await queue.sweepStalledJobs(maxStalledCount: options.maxStalledCount, interval: options.stalledInterval)
                if !recovered.isEmpty {
                    logger.info("recovered stalled jobs", metadata: ["jobIds": "\(recovered)"])
                    wakeIdleSlots()
                }
            } catch {
                logger.debug("stalled sweep failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: options.stalledInterval)
        }
    }
}
