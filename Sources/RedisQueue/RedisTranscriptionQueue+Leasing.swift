import BullMQ
import Foundation
import Telemetry
import WhisperAPICore

extension RedisTranscriptionQueue {
    public func claimNextJob(lockDuration: Duration) async throws -> LeasedJob? {
        try await sweepStalledJobsIfDue()
        while true {
            let (fetched, _) = try await queue.fetchNextJob(token: UUID().lowercasedString, lockDuration: lockDuration)
            guard let active = fetched else { return nil }
            if let deferred = active.job.deferredFailure {
                _ = try await queue.fail(active, reason: deferred, retryable: false)
                continue
            }
            guard let data = try? active.job.decodeData(TranscriptionJobData.self) else {
                logger.warning("job data is not a transcription job", metadata: ["jobId": "\(active.job.id)"])
                _ = try await queue.fail(active, reason: "INVALID_JOB_DATA: the job data is not a transcription job", retryable: false)
                continue
            }
            leased.withLockedValue { $0[active.job.id] = active }
            return LeasedJob(
                id: active.job.id, data: data, token: active.token, attempt: active.job.attemptsMade + 1,
                priority: active.job.priority, enqueuedAt: Date(timeIntervalSince1970: Double(active.job.timestamp) / 1000))
        }
    }

    /// The stalled sweep runs from every worker; the script itself keeps it to once per interval.
    func sweepStalledJobsIfDue() async throws {
        let due = lastSweep.withLockedValue { last -> Bool in
            guard let last, ContinuousClock.now - last < stalledInterval / 2 else {
                last = .now
                return true
            }
            return false
        }
        guard due else { return }
        let recovered = try await queue.sweepStalledJobs(maxStalledCount: maxStalledCount, interval: stalledInterval)
        if !recovered.isEmpty { logger.info("recovered stalled jobs", metadata: ["jobIds": "\(recovered)"]) }
        JobMetrics.recoveredStalled(recovered.count)
    }

    public func waitForJobs(timeout: Duration) async {
        do {
            let due = try await blocking.with { try await queue.waitForMarker(timeout: timeout, on: $0) }
            if let due {
                let wait = max(0, min(Double(due) / 1000 - Date().timeIntervalSince1970, 1))
                try await Task.sleep(for: .milliseconds(Int(wait * 1000)))
            }
        } catch {
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    public func renewLock(_ job: LeasedJob, lockDuration: Duration) async throws -> Bool {
        try await queue.extendLocks([(id: job.id, token: job.token)], duration: lockDuration).isEmpty
    }

    public func updateJobProgress(_ job: LeasedJob, progress: Int, segment: ProgressSegment?) async throws -> Bool {
        guard leased.withLockedValue({ $0[job.id]?.token == job.token }) else { return false }
        try await queue.updateProgress(job.id, progress: ProgressSegment.progressJSON(max(0, min(100, progress)), segment: segment))
        return true
    }

    public func completeJob(_ job: LeasedJob, result: TranscriptionJobResult) async throws -> Bool {
        guard let active = takeLease(job) else { return false }
        if case .finished = try await queue.complete(active, returnValue: try Self.json(result)) { return true }
        return false
    }

    public func failJob(_ job: LeasedJob, reason: String, retryable: Bool) async throws {
        guard let active = takeLease(job) else { return }
        _ = try await queue.fail(active, reason: reason, retryable: retryable)
    }

    public func jobExists(_ jobId: String) async throws -> Bool {
        try await queue.getJob(jobId) != nil
    }

    public func releaseJob(_ job: LeasedJob, after delay: Duration) async throws {
        guard let active = takeLease(job) else { return }
        try await queue.release(active, after: delay)
    }

    public func cancellations() -> AsyncStream<String> {
        cancellationBroadcast.listen()
    }

    func takeLease(_ job: LeasedJob) -> ActiveJob? {
        leased.withLockedValue { leases in
            guard leases[job.id]?.token == job.token else { return nil }
            return leases.removeValue(forKey: job.id)
        }
    }
}
