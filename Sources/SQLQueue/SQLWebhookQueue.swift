import FluentKit
import Foundation
import Logging
import NIOConcurrencyHelpers
import SQLKit
import WhisperAPICore

/// The embedded webhook queue: webhooks to send, in the service's own SQL database.
///
/// A sender takes a webhook under a lock that expires, so one whose server died mid-send is sent again;
/// a failed attempt is retried with exponential backoff while the retry policy allows. Sent and given-up
/// webhooks are kept for a week, so the same event added again is not sent twice.
public final class SQLWebhookQueue: WebhookQueue {
    let database: any Database
    let policy: WebhookRetryPolicy
    let lockDuration: Duration
    let logger: Logger
    let signal = WakeSignal()
    let lastCleanup = NIOLockedValueBox(Date.distantPast)

    public init(database: any Database, policy: WebhookRetryPolicy, lockDuration: Duration = .seconds(60), logger: Logger) {
        self.database = database
        self.policy = policy
        self.lockDuration = lockDuration
        self.logger = logger
    }

    static let keptFor: TimeInterval = 7 * 24 * 3600

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await SQLTranscriptionQueue.transaction(on: database, body)
    }

    public func add(_ job: WebhookJob) async throws {
        let payload = try SQLTranscriptionQueue.json(job)
        try await transaction { sql in
            guard try await sql.raw("SELECT job_id FROM webhook_jobs WHERE job_id = \(bind: job.id)").first() == nil else { return }
            let now = SQLTranscriptionQueue.now()
            try await sql.raw("""
                INSERT INTO webhook_jobs (job_id, data, state, attempts_made, available_at, created_at)
                VALUES (\(bind: job.id), \(bind: payload), 'waiting', 0, \(bind: now), \(bind: now))
                """).run()
        }
        signal.notify()
    }

    /// A webhook taken under a lock.
    struct Claimed: Sendable {
        let job: WebhookJob
        let attempt: Int
        let token: String
    }

    /// Takes the next due webhook (waiting and due, or locked by a sender that is gone).
    func claim() async throws -> Claimed? {
        let lockMs = lockDuration.wholeMilliseconds
        return try await transaction { sql -> Claimed? in
            let now = SQLTranscriptionQueue.now()
            guard let row = try await sql.raw("""
                SELECT job_id, data, attempts_made FROM webhook_jobs
                WHERE (state = 'waiting' AND available_at <= \(bind: now)) OR (state = 'active' AND lock_expires_at < \(bind: now))
                ORDER BY available_at LIMIT 1
                """).first()
            else { return nil }
            let id = try row.decode(column: "job_id", as: String.self)
            let token = UUID().uuidString
            try await sql.raw("""
                UPDATE webhook_jobs SET state = 'active', lock_token = \(bind: token), lock_expires_at = \(bind: now + lockMs)
                WHERE job_id = \(bind: id)
                """).run()
            let job = try SQLTranscriptionQueue.decoder.decode(WebhookJob.self, from: Data(try row.decode(column: "data", as: String.self).utf8))
            return Claimed(job: job, attempt: try row.decode(column: "attempts_made", as: Int.self) + 1, token: token)
        }
    }

    /// Records an attempt's outcome: sent, scheduled again with backoff, or given up.
    func finish(_ claimed: Claimed, succeeded: Bool) async throws {
        let now = SQLTranscriptionQueue.now()
        let retryAt = now + policy.delay(afterAttempts: claimed.attempt).wholeMilliseconds
        // As BullMQ does: attempts are counted, and the policy sizes them to fit its window.
        let state = succeeded ? "completed" : (claimed.attempt < policy.maxAttempts ? "waiting" : "failed")
        try await transaction { sql in
            try await sql.raw("""
                UPDATE webhook_jobs SET state = \(bind: state), attempts_made = \(bind: claimed.attempt), lock_token = NULL,
                    lock_expires_at = NULL, available_at = \(bind: retryAt), finished_at = \(bind: state == "waiting" ? nil : now)
                WHERE job_id = \(bind: claimed.job.id) AND lock_token = \(bind: claimed.token)
                """).run()
        }
        if state == "waiting" { signal.notify() }
    }

    public func process(concurrency: Int, deliver: @escaping @Sendable (WebhookJob, Int) async throws -> Void) async throws {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask { await self.runSender(deliver) }
            }
        }
    }

    func runSender(_ deliver: @escaping @Sendable (WebhookJob, Int) async throws -> Void) async {
        while !Task.isCancelled {
            do {
                guard let claimed = try await claim() else {
                    try await cleanUpIfDue()
                    await signal.wait(timeout: .seconds(1))  // new webhooks wake it at once; retries are due within a second
                    continue
                }
                let succeeded: Bool
                do {
                    try await deliver(claimed.job, claimed.attempt)
                    succeeded = true
                } catch {
                    succeeded = false
                }
                if Task.isCancelled && !succeeded { return }  // shutting down: the lock expires and it is sent again
                try await finish(claimed, succeeded: succeeded)
            } catch {
                logger.warning("webhook queue error; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    public func close() async {
        signal.notify()
    }

    /// Deletes sent and given-up webhooks past their week, at most every ten minutes.
    func cleanUpIfDue() async throws {
        let due = lastCleanup.withLockedValue { last -> Bool in
            guard Date().timeIntervalSince(last) > 600 else { return false }
            last = Date()
            return true
        }
        guard due, let sql = database as? any SQLDatabase else { return }
        let before = SQLTranscriptionQueue.now() - Int64(Self.keptFor * 1000)
        try await sql.raw("DELETE FROM webhook_jobs WHERE state IN ('completed', 'failed') AND finished_at < \(bind: before)").run()
    }
}
