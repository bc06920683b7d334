import FluentKit
import Foundation
import SQLKit
import Telemetry
import WhisperAPICore

extension SQLTranscriptionQueue {
    public func claimNextJob(lockDuration: Duration) async throws -> LeasedJob? {
        let lockMs = lockDuration.wholeMilliseconds
        let maxStalled = maxStalledCount
        let (job, changed) = try await transaction { sql -> (LeasedJob?, Bool) in
            let now = Self.now()
            let recovered = try await Self.recoverStalledJobs(sql, now: now, maxStalled: maxStalled)
            guard let row = try await sql.raw("""
                SELECT job_id, data, attempts_made, priority, created_at FROM queue_jobs
                WHERE state = 'waiting' OR (state = 'delayed' AND available_at <= \(bind: now))
                ORDER BY priority, seq LIMIT 1
                """).first()
            else { return (nil, recovered) }
            let jobId = try row.decode(column: "job_id", as: String.self)
            let token = UUID().uuidString
            try await sql.raw("""
                UPDATE queue_jobs SET state = 'active', lock_token = \(bind: token), lock_expires_at = \(bind: now + lockMs),
                    processed_at = \(bind: now), attempts_started = attempts_started + 1
                WHERE job_id = \(bind: jobId)
                """).run()
            let attemptsMade = try row.decode(column: "attempts_made", as: Int.self)
            try await Self.appendEvent(sql, jobId: jobId, kind: .active, attemptsMade: attemptsMade)
            let data = try Self.decoder.decode(TranscriptionJobData.self, from: Data(try row.decode(column: "data", as: String.self).utf8))
            let job = LeasedJob(
                id: jobId, data: data, token: token, attempt: attemptsMade + 1, priority: try row.decode(column: "priority", as: Int.self),
                enqueuedAt: Date(timeIntervalSince1970: Double(try row.decode(column: "created_at", as: Int64.self)) / 1000))
            return (job, true)
        }
        if changed { eventSignal.notify() }
        return job
    }

    /// Jobs whose lock expired lost their worker: back to the queue, or failed after too many stalls.
    static func recoverStalledJobs(_ sql: any SQLDatabase, now: Int64, maxStalled: Int) async throws -> Bool {
        let stalled = try await sql.raw("""
            SELECT job_id, stalled_count, attempts_made FROM queue_jobs WHERE state = 'active' AND lock_expires_at < \(bind: now)
            """).all()
        for row in stalled {
            let jobId = try row.decode(column: "job_id", as: String.self)
            let count = try row.decode(column: "stalled_count", as: Int.self) + 1
            let attempts = try row.decode(column: "attempts_made", as: Int.self)
            if count > maxStalled {
                let reason = "job stalled more than allowable limit"
                try await sql.raw("""
                    UPDATE queue_jobs SET state = 'failed', stalled_count = \(bind: count), lock_token = NULL, lock_expires_at = NULL,
                        failed_reason = \(bind: reason), finished_at = \(bind: now)
                    WHERE job_id = \(bind: jobId)
                    """).run()
                try await appendEvent(sql, jobId: jobId, kind: .failed, failedReason: reason, attemptsMade: attempts)
            } else {
                try await sql.raw("""
                    UPDATE queue_jobs SET state = 'waiting', stalled_count = \(bind: count), lock_token = NULL, lock_expires_at = NULL
                    WHERE job_id = \(bind: jobId)
                    """).run()
                try await appendEvent(sql, jobId: jobId, kind: .waiting, attemptsMade: attempts)
            }
        }
        JobMetrics.recoveredStalled(stalled.count)
        return !stalled.isEmpty
    }

    public func jobExists(_ jobId: String) async throws -> Bool {
        try await transaction { sql in
            try await sql.raw("SELECT 1 AS present FROM queue_jobs WHERE job_id = \(bind: jobId)").first() != nil
        }
    }

    public func waitForJobs(timeout: Duration) async {
        await jobSignal.wait(timeout: timeout)
    }

    public func renewLock(_ job: LeasedJob, lockDuration: Duration) async throws -> Bool {
        let expires = Self.now() + lockDuration.wholeMilliseconds
        return try await transaction { sql in
            try await !sql.raw("""
                UPDATE queue_jobs SET lock_expires_at = \(bind: expires)
                WHERE job_id = \(bind: job.id) AND state = 'active' AND lock_token = \(bind: job.token) RETURNING job_id
                """).all().isEmpty
        }
    }

    public func updateJobProgress(_ job: LeasedJob, progress: Int, segment: ProgressSegment?) async throws -> Bool {
        let value = max(0, min(100, progress))
        let updated = try await transaction { sql -> Bool in
            let rows = try await sql.raw("""
                UPDATE queue_jobs SET progress = \(bind: value)
                WHERE job_id = \(bind: job.id) AND state = 'active' AND lock_token = \(bind: job.token) RETURNING job_id
                """).all()
            guard !rows.isEmpty else { return false }
            try await Self.appendEvent(sql, jobId: job.id, kind: .progress, progress: value, segment: segment)
            return true
        }
        if updated { eventSignal.notify() }
        return updated
    }

    public func completeJob(_ job: LeasedJob, result: TranscriptionJobResult) async throws -> Bool {
        let payload = try Self.json(result)
        let done = try await transaction { sql -> Bool in
            let now = Self.now()
            let rows = try await sql.raw("""
                UPDATE queue_jobs SET state = 'completed', progress = 100, return_value = \(bind: payload), finished_at = \(bind: now),
                    lock_token = NULL, lock_expires_at = NULL, attempts_made = attempts_made + 1
                WHERE job_id = \(bind: job.id) AND state = 'active' AND lock_token = \(bind: job.token) RETURNING attempts_made
                """).all()
            guard let row = rows.first else { return false }
            let attempts = try row.decode(column: "attempts_made", as: Int.self)
            try await Self.appendEvent(sql, jobId: job.id, kind: .completed, progress: 100, returnValue: payload, attemptsMade: attempts)
            return true
        }
        if done { eventSignal.notify() }
        return done
    }

    public func failJob(_ job: LeasedJob, reason: String, retryable: Bool) async throws {
        let delays = retryPolicy
        let changed = try await transaction { sql -> Bool in
            guard let row = try await sql.raw("""
                SELECT attempts_made, max_attempts FROM queue_jobs
                WHERE job_id = \(bind: job.id) AND state = 'active' AND lock_token = \(bind: job.token)
                """).first()
            else { return false }
            let now = Self.now()
            let attempts = try row.decode(column: "attempts_made", as: Int.self) + 1
            let maxAttempts = try row.decode(column: "max_attempts", as: Int.self)
            if retryable && attempts < maxAttempts {
                let due = now + delays.delay(afterAttempts: attempts).wholeMilliseconds
                try await sql.raw("""
                    UPDATE queue_jobs SET state = 'delayed', attempts_made = \(bind: attempts), available_at = \(bind: due),
                        failed_reason = \(bind: reason), lock_token = NULL, lock_expires_at = NULL, progress = 0
                    WHERE job_id = \(bind: job.id)
                    """).run()
                try await Self.appendEvent(sql, jobId: job.id, kind: .waiting, failedReason: reason, attemptsMade: attempts)
            } else {
                try await sql.raw("""
                    UPDATE queue_jobs SET state = 'failed', attempts_made = \(bind: attempts), failed_reason = \(bind: reason),
                        finished_at = \(bind: now), lock_token = NULL, lock_expires_at = NULL
                    WHERE job_id = \(bind: job.id)
                    """).run()
                try await Self.appendEvent(sql, jobId: job.id, kind: .failed, failedReason: reason, attemptsMade: attempts)
            }
            return true
        }
        if changed { eventSignal.notify() }
    }

    public func releaseJob(_ job: LeasedJob, after delay: Duration) async throws {
        let released = try await transaction { sql -> Bool in
            let due = Self.now() + delay.wholeMilliseconds
            let rows = try await sql.raw("""
                UPDATE queue_jobs SET state = \(bind: delay > .zero ? "delayed" : "waiting"), available_at = \(bind: due),
                    lock_token = NULL, lock_expires_at = NULL, progress = 0
                WHERE job_id = \(bind: job.id) AND state = 'active' AND lock_token = \(bind: job.token) RETURNING attempts_made
                """).all()
            guard let row = rows.first else { return false }
            try await Self.appendEvent(sql, jobId: job.id, kind: .waiting, attemptsMade: try row.decode(column: "attempts_made", as: Int.self))
            return true
        }
        if released {
            jobSignal.notify()
            eventSignal.notify()
        }
    }

    public func cancellations() -> AsyncStream<String> {
        cancellationBroadcast.listen()
    }
}
