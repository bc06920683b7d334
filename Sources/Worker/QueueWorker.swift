import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Telemetry
import WhisperAPICore

/// The worker pool: `concurrency` slots taking jobs from a queue, all handing them to one transcriber (the worker's
/// engine process, which batches the jobs it holds together).
///
/// Each job is held under a renewed lock. A cancel from the queue or a lost lock stops the job in the
/// engine at once; a timeout fails the attempt. A graceful shutdown drains: no new jobs are taken, running ones
/// may finish for up to `shutdownGrace`, and what is still running then is handed back to the queue.
public struct QueueWorker: Service {
    let leasing: any JobLeasing
    let processor: TranscriptionProcessor
    let concurrency: Int
    let lockDuration: Duration
    let jobTimeout: Duration
    /// How long a graceful shutdown waits for running jobs before handing them back.
    let shutdownGrace: Duration
    /// Every slot's jobs go to this one transcriber.
    let transcriber: any Transcriber
    /// The jobs this worker leaves to others of its fleet.
    let handOver: JobHandOver
    let logger: Logger

    public init(
        leasing: any JobLeasing, processor: TranscriptionProcessor, concurrency: Int, lockDuration: Duration,
        jobTimeout: Duration, shutdownGrace: Duration = .seconds(30), logger: Logger, transcriber: any Transcriber,
        handOver: JobHandOver = .never
    ) {
        self.leasing = leasing
        self.processor = processor
        self.concurrency = max(1, concurrency)
        self.lockDuration = lockDuration
        self.jobTimeout = jobTimeout
        self.shutdownGrace = shutdownGrace
        self.transcriber = transcriber
        self.handOver = handOver
        self.logger = logger
    }

    /// Why a running job was stopped before it finished.
    enum StopReason: Sendable {
        case cancelled, lockLost, timeout, shutdown
    }

    /// The jobs running in this process, so that a cancel can reach them.
    final class ActiveJobs: Sendable {
        private let jobs = NIOLockedValueBox([String: (task: Task<TranscriptionJobResult, any Error>, reason: NIOLockedValueBox<StopReason?>)]())
        let stopping = NIOLockedValueBox(false)

        /// Hands the rest back once the grace period of a drain is over.
        let drainDeadline = NIOLockedValueBox<Task<Void, Never>?>(nil)

        var count: Int { jobs.withLockedValue { $0.count } }

        func add(_ id: String, task: Task<TranscriptionJobResult, any Error>, reason: NIOLockedValueBox<StopReason?>) {
            let count = jobs.withLockedValue { jobs in
                jobs[id] = (task, reason)
                return jobs.count
            }
            WorkerMetrics.busy(count)
        }

        func remove(_ id: String) {
            let count = jobs.withLockedValue { jobs in
                jobs.removeValue(forKey: id)
                return jobs.count
            }
            WorkerMetrics.busy(count)
        }

        func stop(_ id: String, because reason: StopReason) {
            guard let entry = jobs.withLockedValue({ $0[id] }) else { return }
            entry.reason.withLockedValue { if $0 == nil { $0 = reason } }
            entry.task.cancel()
        }

        func stopAll(because reason: StopReason) {
            for id in jobs.withLockedValue({ Array($0.keys) }) { stop(id, because: reason) }
        }
    }

    public func run() async throws {
        let active = ActiveJobs()
        let cancellations = leasing.cancellations()
        WorkerMetrics.slots(concurrency)
        WorkerMetrics.busy(0)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await id in cancellations { active.stop(id, because: .cancelled) }
                }
                for _ in 0..<concurrency {
                    group.addTask { await runSlot(active: active) }
                }
                // Slots end on shutdown; then stop listening for cancels.
                for _ in 0..<concurrency { await group.next() }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            drain(active)
        }
        active.drainDeadline.withLockedValue { $0?.cancel() }
        await transcriber.stop()
    }

    /// Stops taking jobs and gives the running ones `shutdownGrace` to finish; the rest go back to the queue.
    func drain(_ active: ActiveJobs) {
        active.stopping.withLockedValue { $0 = true }
        let running = active.count
        guard running > 0 else {
            logger.info("draining: no job running; stopping")
            return
        }
        logger.info("draining: taking no new jobs; waiting for the running ones", metadata: [
            "jobs": "\(running)", "graceSeconds": "\(shutdownGrace.components.seconds)",
        ])
        let grace = shutdownGrace
        let logger = self.logger
        let deadline = Task {
            try? await Task.sleep(for: grace)
            guard !Task.isCancelled else { return }
            let left = active.count
            if left > 0 { logger.warning("draining: grace period over; handing running jobs back to the queue", metadata: ["jobs": "\(left)"]) }
            active.stopAll(because: .shutdown)
        }
        active.drainDeadline.withLockedValue { $0 = deadline }
    }

    func runSlot(active: ActiveJobs) async {
        var failures = 0
        while !active.stopping.withLockedValue({ $0 }) && !Task.isCancelled {
            do {
                guard let job = try await leasing.claimNextJob(lockDuration: lockDuration) else {
                    await leasing.waitForJobs(timeout: .seconds(1))
                    continue
                }
                failures = 0
                if await handOver.leavesToOthers(job) {
                    try await leasing.releaseJob(job, after: handOver.delay)
                    logger.with("jobId", job.id).info("job left to a worker that can diarize")
                    continue
                }
                await execute(job, active: active)
            } catch {
                failures += 1
                logger.error("could not take a job from the queue", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(min(5000, 200 * (1 << min(failures, 5)))))
            }
        }
    }

    func execute(_ job: LeasedJob, active: ActiveJobs) async {
        let log = logger.with("jobId", job.id).with("userId", job.data.userId)
        log.info("job started", metadata: ["attempt": "\(job.attempt)"])
        JobMetrics.started(job)
        let started = ContinuousClock.now
        let reason = NIOLockedValueBox<StopReason?>(nil)
        let leasing = self.leasing
        let lastProgress = NIOLockedValueBox(-1)
        let work = Task {
            try await processor.process(job, transcriber: transcriber) { value, segment in
                let changed = lastProgress.withLockedValue { last -> Bool in
                    defer { last = max(last, value) }
                    return value > last
                }
                // Every segment is reported (clients may follow the text); a bare number only when it grew.
                if changed || segment != nil {
                    _ = try? await leasing.updateJobProgress(job, progress: max(value, lastProgress.withLockedValue { $0 }), segment: segment)
                }
            }
        }
        active.add(job.id, task: work, reason: reason)
        if active.stopping.withLockedValue({ $0 }) { active.stop(job.id, because: .shutdown) }
        let watchdog = Task { await guardLock(job, work: work, reason: reason, active: active) }
        let outcome = await work.result
        watchdog.cancel()
        active.remove(job.id)
        do {
            let ended = try await record(job, outcome: outcome, reason: reason.withLockedValue { $0 }, log: log)
            JobMetrics.ended(job, outcome: ended, after: ContinuousClock.now - started)
        } catch {
            log.error("could not record the job's outcome; its lock will expire and it will run again", metadata: ["error": "\(error)"])
        }
    }

    /// Records how an attempt ended in the queue, and says what became of it.
    func record(
        _ job: LeasedJob, outcome: Result<TranscriptionJobResult, any Error>, reason: StopReason?, log: Logger
    ) async throws -> JobMetrics.Outcome {
        switch (outcome, reason) {
        case (.success(let result), _):
            if try await leasing.completeJob(job, result: result) {
                log.info("job completed", metadata: ["duration": "\(result.durationSeconds)"])
                return .completed
            }
            log.warning("job finished after its lock was lost; result not recorded")
            // A job deleted meanwhile leaves nothing behind; one another worker took over keeps the shared result key.
            if try await !leasing.jobExists(job.id) { await processor.discard(result) }
            return .stopped
        case (.failure, .cancelled?), (.failure, .lockLost?):
            log.info("job stopped: cancelled or taken over")
            return .stopped
        case (.failure, .shutdown?):
            try await leasing.releaseJob(job)
            log.info("job released for another worker")
            return .released
        case (.failure, .timeout?):
            try await leasing.failJob(job, reason: "JOB_TIMEOUT: the job took longer than \(jobTimeout)", retryable: true)
            return .failed
        case (.failure(let error as TranscriptionFailure), nil):
            log.warning("job failed", metadata: ["code": "\(error.code)"])
            try await leasing.failJob(job, reason: "\(error.code): \(error.message)", retryable: error.isRetryable)
            return .failed
        case (.failure(let error), nil):
            log.error("job failed", metadata: ["error": "\(error)"])
            try await leasing.failJob(job, reason: "WORKER_ERROR: \(type(of: error))", retryable: true)
            return .failed
        }
    }

    /// Renews the lock while the job runs; stops the job when the lock is lost or the time is up.
    func guardLock(_ job: LeasedJob, work: Task<TranscriptionJobResult, any Error>, reason: NIOLockedValueBox<StopReason?>, active: ActiveJobs) async {
        let started = ContinuousClock.now
        // Renew well inside the lock's life, and often enough that a cancel from another process
        // (which deletes the lock) stops the engine within a couple of seconds.
        let interval = min(lockDuration / 3, .seconds(2))
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            if ContinuousClock.now - started > jobTimeout {
                active.stop(job.id, because: .timeout)
                return
            }
            if let renewed = try? await leasing.renewLock(job, lockDuration: lockDuration), !renewed {
                active.stop(job.id, because: .lockLost)
                return
            }
        }
    }
}

extension Logger {
    /// A copy with one more metadata value.
    func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy[metadataKey: key] = .string(value)
        return copy
    }
}
