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

    var keys: QueueKeys { queue.keys }

    // MARK: - Running

    /// Runs until `close()`; returns once every slot has stopped.
    public func run() async throws {
        try await client.preload(Scripts.all)
        await withTaskGroup(of: Void.self) { group in
            for slot in 0..<max(1, options.concurrency) {
                group.addTask { await self.runSlot(slot) }
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

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    // MARK: - Slots

    func runSlot(_ slot: Int) async {
        let (wakeups, waker) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.withLockedValue { $0.wakers[slot] = waker }
        var wakeIterator = wakeups.makeAsyncIterator()
        var next: ActiveJob?
        var failures = 0
        while !isClosing {
            do {
                if next == nil { next = try await fetch() }
                if let job = next {
                    next = try await process(job)
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

    /// Takes the next job (moveToActive), or nil when none is ready.
    func fetch() async throws -> ActiveJob? {
        let token = nextToken()
        let reply = try await client.run(
            Scripts.moveToActive, keys: keys.fetchKeys,
            arguments: [.string(keys.base), .string(String(Self.now())), .string(token), .string(String(Self.milliseconds(options.lockDuration)))])
        return decodeFetched(reply, token: token)
    }

    func decodeFetched(_ reply: RESPValue, token: String) -> ActiveJob? {
        guard let parts = reply.array, parts.count == 4 else { return nil }
        if let id = parts[1].string, id != "0", let hash = parts[0].stringMap {
            return ActiveJob(job: Job(id: id, hash: hash), token: token, queue: queue)
        }
        if let due = parts[3].int, due > 0 { state.withLockedValue { $0.blockUntil = due } }
        return nil
    }

    /// Runs one job and records its outcome; returns the next job when one was fetched in the same call.
    func process(_ active: ActiveJob) async throws -> ActiveJob? {
        let job = active.job
        if let deferred = job.deferredFailure {
            return try await finish(active, outcome: .failure(UnrecoverableError(deferred)))
        }
        let processor = self.processor
        let task = Task { try await processor(active) }
        state.withLockedValue { $0.running[job.id] = RunningJob(token: active.token, task: task) }
        let result = await task.result
        let (cancelled, releasing) = state.withLockedValue { state -> (Bool, Bool) in
            let entry = state.running.removeValue(forKey: job.id)
            return (entry?.cancelled ?? false, state.closing && state.releaseOnClose)
        }
        if case .failure = result, releasing && !cancelled {
            try await release(active)
            return nil
        }
        if case .failure = result, cancelled {
            return nil // cancelled on purpose: whoever cancelled it has recorded the outcome
        }
        return try await finish(active, outcome: result)
    }

    /// Completes, retries or fails the job in one script call.
    func finish(_ active: ActiveJob, outcome: Result<String, any Error>) async throws -> ActiveJob? {
        let job = active.job
        let jobOptions = job.options
        let fetchNext = !isClosing
        let nextToken = self.nextToken()
        var arguments: [RESPArgument]
        var target: String
        switch outcome {
        case .success(let value):
            target = keys.completed
            arguments = [.string(job.id), .string(String(Self.now())), "returnvalue", .string(value), "completed", .string(active.token)]
                + Self.keepArguments(jobOptions.removeOnComplete ?? options.removeOnComplete)
                + [.string(String(max(1, jobOptions.attempts))), ""]
        case .failure(let error):
            let reason = Self.reason(error)
            let attemptsMade = job.attemptsMade + 1
            let stacktrace = Self.stacktrace(previous: job.stacktrace, adding: "\(type(of: error)): \(reason)")
            if !(error is UnrecoverableError), attemptsMade < jobOptions.attempts {
                let delay = jobOptions.backoff?.delay(afterAttempts: attemptsMade) ?? 0
                let code = try await client.run(
                    Scripts.retryAttempt, keys: keys.fetchKeys + [keys.job(job.id)],
                    arguments: [.string(keys.base), .string(String(Self.now())), .string(job.id), .string(active.token), .string(String(delay)),
                                .string(reason), .string(stacktrace), jobOptions.lifo ? "RPUSH" : "LPUSH"]).int ?? 0
                if code < 0 { logger.warning("could not retry job", metadata: ["jobId": "\(job.id)", "code": "\(code)"]) }
                return nil
            }
            target = keys.failed
            arguments = [.string(job.id), .string(String(Self.now())), "failedReason", .string(reason), "failed", .string(active.token)]
                + Self.keepArguments(jobOptions.removeOnFail ?? options.removeOnFail)
                + [.string(String(max(1, jobOptions.attempts))), .string(stacktrace)]
        }
        arguments += [fetchNext ? "1" : "", .string(keys.base), .string(String(Self.milliseconds(options.lockDuration))), .string(nextToken)]
        let reply = try await client.run(Scripts.moveToFinished, keys: keys.fetchKeys + [target, keys.job(job.id)], arguments: arguments)
        if let code = reply.int, code < 0 {
            logger.warning("job finished without its lock", metadata: ["jobId": "\(job.id)", "code": "\(code)"])
            return nil
        }
        return decodeFetched(reply, token: nextToken)
    }

    /// Gives a job back to the front of the queue without counting an attempt.
    func release(_ active: ActiveJob) async throws {
        _ = try await client.run(Scripts.releaseJob, keys: keys.fetchKeys + [keys.job(active.job.id)], arguments: [.string(active.job.id), .string(active.token)])
    }

    static func reason(_ error: any Error) -> String {
        String(describing: error)
    }

    /// The keep-count and keep-age arguments of the finishing script (count -1 keeps everything).
    static func keepArguments(_ keep: JobOptions.KeepJobs?) -> [RESPArgument] {
        let (count, age) = keep?.scriptArguments ?? (-1, nil)
        return [.string(String(count)), .string(age.map(String.init) ?? "")]
    }

    static func stacktrace(previous: String?, adding entry: String, limit: Int = 10) -> String {
        var entries = (try? JSONDecoder().decode([String].self, from: Data((previous ?? "[]").utf8))) ?? []
        entries.append(entry)
        let data = (try? JSONEncoder().encode(Array(entries.suffix(limit)))) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
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
                let now = Self.now()
                let until = state.withLockedValue { $0.blockUntil }
                var timeout = Double(Self.milliseconds(options.drainDelay)) / 1000
                if until > now { timeout = min(timeout, Double(until - now) / 1000) }
                let reply = try await connection.send(["BZPOPMIN", .string(keys.marker), .string(String(format: "%.3f", max(0.001, timeout)))])
                failures = 0
                if let popped = reply.array, popped.count == 3, let score = popped[2].double, score > Double(Self.now()) {
                    state.withLockedValue { $0.blockUntil = Int64(score) }
                    continue
                }
                state.withLockedValue { $0.blockUntil = 0 }
                wakeIdleSlots()
            } catch {
                if isClosing { return }
                failures += 1
                state.withLockedValue { $0.blocker = nil }
                try? await Task.sleep(for: .milliseconds(min(2000, 50 * (1 << min(failures, 6)))))
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
        let duration = String(Self.milliseconds(options.lockDuration))
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let running = state.withLockedValue { $0.running.map { ($0.key, $0.value.token) } }
            guard !running.isEmpty else { continue }
            let commands = running.map { id, token in
                RedisClient.evalsha(Scripts.extendLock, keys: [keys.lock(id), keys.stalled], arguments: [.string(token), .string(duration), .string(id)])
            }
            guard let replies = try? await client.pipeline(commands) else { continue }
            if replies.contains(where: { if case .error(let m) = $0 { m.hasPrefix("NOSCRIPT") } else { false } }) {
                try? await client.preload([Scripts.extendLock])
                continue
            }
            for ((id, _), reply) in zip(running, replies) where reply.int == 0 {
                logger.warning("lost the lock of a running job; stopping it", metadata: ["jobId": "\(id)"])
                cancel(id)
            }
        }
    }

    /// Runs the stalled-job sweep every `stalledInterval` (the first one right away).
    func sweepStalledJobs() async {
        while !Task.isCancelled {
            do {
                let recovered = try await client.run(
                    Scripts.moveStalledJobsToWait,
                    keys: [keys.stalled, keys.wait, keys.active, keys.stalledCheck, keys.meta, keys.paused, keys.marker, keys.events],
                    arguments: [.string(String(options.maxStalledCount)), .string(keys.base), .string(String(Self.now())),
                                .string(String(Self.milliseconds(options.stalledInterval)))])
                if let ids = recovered.array, !ids.isEmpty {
                    logger.info("recovered stalled jobs", metadata: ["jobIds": "\(ids.compactMap(\.string))"])
                    wakeIdleSlots()
                }
            } catch {
                logger.debug("stalled sweep failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: options.stalledInterval)
        }
    }
}
