import FluentKit
import Foundation
import Logging
import SQLKit
import WhisperAPICore

/// The embedded queue: jobs and events in the service's own SQL database.
///
/// Every state change happens in one transaction. A worker holds a job under a lock token
/// that it renews; a job whose lock expires (its worker died) is taken again, so no job is
/// lost and none runs twice at once. Lower priority numbers run first, FIFO within a priority.
public final class SQLTranscriptionQueue: TranscriptionQueue, JobLeasing {
    let database: any Database
    let retryPolicy: RetryPolicy
    /// How many times a job may lose its worker before it fails.
    let maxStalledCount: Int
    let logger: Logger
    let jobSignal = WakeSignal()
    let eventSignal = WakeSignal()
    let cancellationBroadcast = Broadcast<String>()

    /// Creates a queue over an SQL database whose `CreateQueueTables` migration has run.
    public init(database: any Database, retryPolicy: RetryPolicy, maxStalledCount: Int = 1, logger: Logger) {
        self.database = database
        self.retryPolicy = retryPolicy
        self.maxStalledCount = maxStalledCount
        self.logger = logger
    }

    static let jobName = "transcribe"
    static let encoder = JSONEncoder()
    static let decoder = JSONDecoder()

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
    static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Runs `body` in one transaction on raw SQL.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await Self.transaction(on: database, body)
    }

    /// Runs `body` in one transaction on raw SQL of `database` (the webhook queue's tables share it).
    static func transaction<T: Sendable>(on database: any Database, _ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await database.transaction { tx in
            guard let sql = tx as? any SQLDatabase else { throw QueueStorageError.notSQL }
            return try await body(sql)
        }
    }

    static func appendEvent(
        _ sql: any SQLDatabase, jobId: String, kind: QueueEvent.Kind, progress: Int? = nil, segment: ProgressSegment? = nil,
        returnValue: String? = nil, failedReason: String? = nil, attemptsMade: Int? = nil
    ) async throws {
        let segmentJSON = try segment.map { try json($0) }
        try await sql.raw("""
            INSERT INTO queue_events (job_id, kind, progress, segment, return_value, failed_reason, attempts_made, created_at)
            VALUES (\(bind: jobId), \(bind: kind.rawValue), \(bind: progress), \(bind: segmentJSON), \(bind: returnValue), \(bind: failedReason), \(bind: attemptsMade), \(bind: now()))
            """).run()
    }

    // MARK: - Producer side

    public func addTranscriptionJob(_ data: TranscriptionJobData, priority: Int, jobId: String) async throws -> String {
        let payload = try Self.json(data)
        let attempts = retryPolicy.maxAttempts
        let backoff = retryPolicy.baseDelay.wholeMilliseconds
        try await transaction { sql in
            let existing = try await sql.raw("SELECT job_id FROM queue_jobs WHERE job_id = \(bind: jobId)").first()
            guard existing == nil else { return }
            let now = Self.now()
            try await sql.raw("""
                INSERT INTO queue_jobs (job_id, name, data, priority, state, max_attempts, backoff_ms, available_at, created_at)
                VALUES (\(bind: jobId), \(bind: Self.jobName), \(bind: payload), \(bind: priority), 'waiting', \(bind: attempts), \(bind: backoff), \(bind: now), \(bind: now))
                """).run()
        }
        jobSignal.notify()
        return jobId
    }

    public func getJobStatus(_ jobId: String) async throws -> JobStatus? {
        guard let row = try await (database as? any SQLDatabase)?
            .raw("SELECT * FROM queue_jobs WHERE job_id = \(bind: jobId)").first()
        else { return nil }
        return try Self.status(from: row)
    }

    static func status(from row: any SQLRow) throws -> JobStatus {
        func date(_ column: String) throws -> Date? {
            try row.decodeNil(column: column) ? nil
                : Date(timeIntervalSince1970: Double(try row.decode(column: column, as: Int64.self)) / 1000)
        }
        var state = JobState(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed
        if state == .delayed, try row.decode(column: "available_at", as: Int64.self) <= now() { state = .waiting }
        let returnValue = try row.decode(column: "return_value", as: String?.self)
            .flatMap { try? decoder.decode(TranscriptionJobResult.self, from: Data($0.utf8)) }
        return JobStatus(
            id: try row.decode(column: "job_id", as: String.self),
            state: state,
            priority: try row.decode(column: "priority", as: Int.self),
            progress: try row.decode(column: "progress", as: Int.self),
            attemptsMade: try row.decode(column: "attempts_made", as: Int.self),
            failedReason: try row.decode(column: "failed_reason", as: String?.self),
            returnValue: returnValue,
            data: try decoder.decode(TranscriptionJobData.self, from: Data(try row.decode(column: "data", as: String.self).utf8)),
            createdAt: try date("created_at") ?? Date(),
            processedAt: try date("processed_at"),
            finishedAt: try date("finished_at")
        )
    }

    public func cancelJob(_ jobId: String) async throws -> Bool {
        let cancelled = try await transaction { sql -> Bool in
            let row = try await sql.raw("SELECT state FROM queue_jobs WHERE job_id = \(bind: jobId)").first()
            guard let state = try row?.decode(column: "state", as: String.self),
                  ["waiting", "delayed", "active"].contains(state)
            else { return false }
            try await sql.raw("""
                UPDATE queue_jobs SET state = 'cancelled', lock_token = NULL, lock_expires_at = NULL, finished_at = \(bind: Self.now())
                WHERE job_id = \(bind: jobId)
                """).run()
            try await Self.appendEvent(sql, jobId: jobId, kind: .cancelled)
            return true
        }
        if cancelled {
            eventSignal.notify()
            cancellationBroadcast.send(jobId)
        }
        return cancelled
    }

    public func retryFailedJob(_ jobId: String) async throws -> Bool {
        let retried = try await transaction { sql -> Bool in
            let rows = try await sql.raw("""
                UPDATE queue_jobs SET state = 'waiting', attempts_made = 0, stalled_count = 0, failed_reason = NULL,
                    finished_at = NULL, progress = 0, available_at = \(bind: Self.now())
                WHERE job_id = \(bind: jobId) AND state = 'failed' RETURNING job_id
                """).all()
            guard !rows.isEmpty else { return false }
            try await Self.appendEvent(sql, jobId: jobId, kind: .waiting, attemptsMade: 0)
            return true
        }
        if retried {
            jobSignal.notify()
            eventSignal.notify()
        }
        return retried
    }

    public func getQueueStats() async throws -> QueueStats {
        guard let sql = database as? any SQLDatabase else { throw QueueStorageError.notSQL }
        let now = Self.now()
        let rows = try await sql.raw("""
            SELECT CASE WHEN state = 'delayed' AND available_at <= \(bind: now) THEN 'waiting' ELSE state END AS s, COUNT(*) AS n
            FROM queue_jobs GROUP BY 1
            """).all()
        var stats = QueueStats()
        for row in rows {
            let count = try row.decode(column: "n", as: Int.self)
            switch JobState(rawValue: try row.decode(column: "s", as: String.self)) {
            case .waiting: stats.waiting += count
            case .delayed: stats.delayed += count
            case .active: stats.active += count
            case .completed: stats.completed += count
            case .failed: stats.failed += count
            case .cancelled: stats.cancelled += count
            case nil: break
            }
        }
        return stats
    }

    public func removeJob(_ jobId: String) async throws {
        guard let sql = database as? any SQLDatabase else { throw QueueStorageError.notSQL }
        try await sql.raw("DELETE FROM queue_jobs WHERE job_id = \(bind: jobId) AND state <> 'active'").run()
    }

    public func waitingCount(priority: Int?) async throws -> Int {
        guard let sql = database as? any SQLDatabase else { throw QueueStorageError.notSQL }
        let now = Self.now()
        var query: SQLQueryString = """
            SELECT COUNT(*) AS n FROM queue_jobs WHERE (state = 'waiting' OR (state = 'delayed' AND available_at <= \(bind: now)))
            """
        if let priority { query = query + " AND priority = \(bind: priority)" }
        let row = try await sql.raw(query).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    public func cleanupOldJobs(completedBefore: Date, failedBefore: Date) async throws -> Int {
        let completedCutoff = Int64(completedBefore.timeIntervalSince1970 * 1000)
        let failedCutoff = Int64(failedBefore.timeIntervalSince1970 * 1000)
        return try await transaction { sql in
            let removed = try await sql.raw("""
                DELETE FROM queue_jobs
                WHERE (state = 'completed' AND finished_at < \(bind: completedCutoff))
                   OR (state IN ('failed', 'cancelled') AND finished_at < \(bind: failedCutoff))
                RETURNING job_id
                """).all()
            let oldest = min(completedCutoff, failedCutoff)
            try await sql.raw("DELETE FROM queue_events WHERE created_at < \(bind: oldest)").run()
            return removed.count
        }
    }

    public var eventLogName: String { "sql-queue-events" }

    public func events(after cursor: String?, limit: Int, waitUpTo: Duration?) async throws -> [QueueEvent] {
        let found = try await readEvents(after: cursor, limit: limit)
        guard found.isEmpty, let waitUpTo else { return found }
        await eventSignal.wait(timeout: waitUpTo)
        return try await readEvents(after: cursor, limit: limit)
    }

    func readEvents(after cursor: String?, limit: Int) async throws -> [QueueEvent] {
        guard let sql = database as? any SQLDatabase else { throw QueueStorageError.notSQL }
        let position = cursor.flatMap { Int64($0) } ?? 0
        let rows = try await sql.raw("""
            SELECT * FROM queue_events WHERE seq > \(bind: position) ORDER BY seq LIMIT \(bind: limit)
            """).all()
        return try rows.map { row in
            QueueEvent(
                cursor: String(try row.decode(column: "seq", as: Int64.self)),
                jobId: try row.decode(column: "job_id", as: String.self),
                kind: QueueEvent.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .progress,
                progress: try row.decode(column: "progress", as: Int?.self),
                segment: try row.decode(column: "segment", as: String?.self)
                    .flatMap { try? Self.decoder.decode(ProgressSegment.self, from: Data($0.utf8)) },
                returnValue: try row.decode(column: "return_value", as: String?.self)
                    .flatMap { try? Self.decoder.decode(TranscriptionJobResult.self, from: Data($0.utf8)) },
                failedReason: try row.decode(column: "failed_reason", as: String?.self),
                attemptsMade: try row.decode(column: "attempts_made", as: Int?.self)
            )
        }
    }

    public func shutdown() async {
        jobSignal.notify()
        eventSignal.notify()
        cancellationBroadcast.finish()
    }
}

/// The queue was given a database that does not speak SQL.
public enum QueueStorageError: Error {
    case notSQL
}
