import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import WhisperAPICore

/// The worker pool: `concurrency` slots taking jobs from a queue, all handing them to one transcriber (the worker's
/// engine process, which batches the jobs it holds together).
///
/// Each job is held under a renewed lock. A cancel from the queue or a lost lock stops the job in the
/// engine at once; a timeout fails the attempt; shutdown releases active jobs back to the queue.
public struct QueueWorker: Service {
    let leasing: any JobLeasing
    let processor: TranscriptionProcessor
    let concurrency: Int
    let lockDuration: Duration
    let jobTimeout: Duration
    /// Every slot's jobs go to this one transcriber.
    let transcriber: any Transcriber
    let logger: Logger

    public init(
        leasing: any JobLeasing, processor: TranscriptionProcessor, concurrency: Int, lockDuration: Duration,
        jobTimeout: Duration, logger: Logger, transcriber: any Transcriber
    ) {
        self.leasing = leasing
        self.processor = processor
        self.concurrency = max(1, concurrency)
        self.lockDuration = lockDuration
        self.jobTimeout = jobTimeout
        self.transcriber = transcriber
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

        func add(_ id: String, task: Task<TranscriptionJobResult, any Error>, reason: NIOLockedValueBox<StopReason?>) {
            jobs.withLockedValue { $0[id] = (task, reason) }
        }

        func remove(_ id: String) {
            _ = jobs.withLockedValue { $0.removeValue(forKey: id) }
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
            active.stopping.withLockedValue { $0 = true }
            active.stopAll(because: .shutdown)
        }
        await transcriber.stop()
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
                await execute(job, active: active)
            } catch {
                failures += 1
                logger.error("could not take a job from the queue", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(min(5000, 200 * (1 << min(failures, 5)))))
            }
        }
    }

    func execute(_ job: LeasedJob, active: ActiveJobs) async {
        let log = logger.with("jobId", job.id)
        log.info("job started", metadata: ["attempt": "\(job.attempt)"])
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
            switch (outcome, reason.withLockedValue { $0 }) {
            case (.success(let result), _):
                if try await leasing.completeJob(job, result: result) {
                    log.info("job completed", metadata: ["duration": "\(result.durationSeconds)"])
                } else {
                    log.warning("job finished after its lock was lost; result not recorded")
                }
            case (.failure, .cancelled?), (.failure, .lockLost?):
                log.info("job stopped: cancelled or taken over")
            case (.failure, .shutdown?):
                try await leasing.releaseJob(job)
                log.info("job released for another worker")
            case (.failure, .timeout?):
                try await leasing.failJob(job, reason: "JOB_TIMEOUT: the job took longer than \(jobTimeout)", retryable: true)
            case (.failure(let error as TranscriptionFailure), nil):
                log.warning("job failed", metadata: ["code": "\(error.code)"])
                try await leasing.failJob(job, reason: "\(error.code): \(error.message)", retryable: error.isRetryable)
            case (.failure(let error), nil):
                log.error("job failed", metadata: ["error": "\(error)"])
                try await leasing.failJob(job, reason: "WORKER_ERROR: \(type(of: error))", retryable: true)
            }
        } catch {
            log.error("could not record the job's outcome; its lock will expire and it will run again", metadata: ["error": "\(error)"])
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
