import Foundation

/// The seed's queue module as one protocol (producer, admin and event side).
///
/// Drivers: the embedded SQL queue (`SQLQueue`) and, later, Redis in BullMQ's format.
public protocol TranscriptionQueue: Sendable {
    /// Adds a job under the given id (idempotent for the same id); returns the job id.
    func addTranscriptionJob(_ data: TranscriptionJobData, priority: Int, jobId: String) async throws -> String
    /// A snapshot of the job, or nil when it does not exist.
    func getJobStatus(_ jobId: String) async throws -> JobStatus?
    /// Removes a waiting or delayed job, or stops an active one. False when it already finished.
    func cancelJob(_ jobId: String) async throws -> Bool
    /// Deletes a job that is not running (finished, cancelled, or never started) with everything the queue keeps of it.
    func removeJob(_ jobId: String) async throws
    /// Puts a failed job back in the queue with fresh attempts. False when it is not failed.
    func retryFailedJob(_ jobId: String) async throws -> Bool
    /// Counts jobs by state.
    func getQueueStats() async throws -> QueueStats
    /// Jobs waiting to run (due retries included), of one queue priority or of all.
    func waitingCount(priority: Int?) async throws -> Int
    /// Deletes completed jobs finished before `completedBefore` and failed or cancelled ones before `failedBefore`.
    @discardableResult
    func cleanupOldJobs(completedBefore: Date, failedBefore: Date) async throws -> Int
    /// Events after `cursor` (nil: from the oldest kept), oldest first. With `waitUpTo`, waits that long
    /// for the first event when there is none yet.
    func events(after cursor: String?, limit: Int, waitUpTo: Duration?) async throws -> [QueueEvent]
    /// The name under which a consumer persists its position in this queue's event log.
    var eventLogName: String { get }
    /// Stops background work and wakes waiters.
    func shutdown() async
}

/// The worker side of a queue: locked jobs, progress and results.
public protocol JobLeasing: Sendable {
    /// Takes the next runnable job (highest priority, then oldest), or nil.
    func claimNextJob(lockDuration: Duration) async throws -> LeasedJob?
    /// Waits until a job may be available or the timeout passes.
    func waitForJobs(timeout: Duration) async
    /// Extends the lock; false when the lock was lost (job cancelled, or taken by another worker).
    func renewLock(_ job: LeasedJob, lockDuration: Duration) async throws -> Bool
    /// Records progress 0–100, with the segment just transcribed when there is one; false when the lock was lost.
    @discardableResult
    func updateJobProgress(_ job: LeasedJob, progress: Int, segment: ProgressSegment?) async throws -> Bool
    /// Marks the job completed; false when the lock was lost.
    @discardableResult
    func completeJob(_ job: LeasedJob, result: TranscriptionJobResult) async throws -> Bool
    /// Records a failed attempt: retried with backoff while attempts remain and `retryable` holds.
    func failJob(_ job: LeasedJob, reason: String, retryable: Bool) async throws
    /// Whether the queue still holds the job (a deleted transcription's job is gone).
    func jobExists(_ jobId: String) async throws -> Bool
    /// Gives an active job back to the queue untouched, no attempt counted: at once (graceful shutdown), or due again
    /// after `delay` (a worker that cannot run it leaves it to one that can).
    func releaseJob(_ job: LeasedJob, after delay: Duration) async throws
    /// A stream that yields the id of an in-process job the moment it is cancelled.
    func cancellations() -> AsyncStream<String>
}

extension JobLeasing {
    /// Gives an active job back to the queue untouched, at once (graceful shutdown).
    public func releaseJob(_ job: LeasedJob) async throws {
        try await releaseJob(job, after: .zero)
    }

    /// Records progress 0–100 without a segment; false when the lock was lost.
    @discardableResult
    public func updateJobProgress(_ job: LeasedJob, progress: Int) async throws -> Bool {
        try await updateJobProgress(job, progress: progress, segment: nil)
    }
}

extension TranscriptionQueue {
    /// Events after `cursor` without waiting.
    public func events(after cursor: String?, limit: Int) async throws -> [QueueEvent] {
        try await events(after: cursor, limit: limit, waitUpTo: nil)
    }
}
