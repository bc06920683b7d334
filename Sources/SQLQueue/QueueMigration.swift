import FluentKit
import SQLKit

/// Creates the embedded queue's tables: jobs and an append-only event log.
public struct CreateQueueTables: AsyncMigration {
    public init() {}

    public func prepare(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        let serial = sql.dialect.name == "postgresql" ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
        try await sql.raw("""
            CREATE TABLE queue_jobs (
                seq \(unsafeRaw: serial),
                job_id TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                data TEXT NOT NULL,
                priority INTEGER NOT NULL,
                state TEXT NOT NULL,
                attempts_made INTEGER NOT NULL DEFAULT 0,
                attempts_started INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL,
                backoff_ms BIGINT NOT NULL,
                stalled_count INTEGER NOT NULL DEFAULT 0,
                available_at BIGINT NOT NULL,
                lock_token TEXT,
                lock_expires_at BIGINT,
                progress INTEGER NOT NULL DEFAULT 0,
                return_value TEXT,
                failed_reason TEXT,
                created_at BIGINT NOT NULL,
                processed_at BIGINT,
                finished_at BIGINT
            )
            """).run()
        try await sql.raw("CREATE INDEX queue_jobs_pick ON queue_jobs (state, priority, seq)").run()
        try await sql.raw("CREATE INDEX queue_jobs_finished ON queue_jobs (state, finished_at)").run()
        try await sql.raw("""
            CREATE TABLE queue_events (
                seq \(unsafeRaw: serial),
                job_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                progress INTEGER,
                return_value TEXT,
                failed_reason TEXT,
                attempts_made INTEGER,
                created_at BIGINT NOT NULL
            )
            """).run()
    }

    public func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.raw("DROP TABLE queue_events").run()
        try await sql.raw("DROP TABLE queue_jobs").run()
    }
}

/// Adds the segment a progress event carries (JSON), for clients that follow the text live.
public struct AddQueueEventSegments: AsyncMigration {
    public init() {}

    public func prepare(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.raw("ALTER TABLE queue_events ADD COLUMN segment TEXT").run()
    }

    public func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.raw("ALTER TABLE queue_events DROP COLUMN segment").run()
    }
}

/// Creates the embedded webhook queue's table.
public struct CreateWebhookJobs: AsyncMigration {
    public init() {}

    public func prepare(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.raw("""
            CREATE TABLE webhook_jobs (
                job_id TEXT PRIMARY KEY,
                data TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts_made INTEGER NOT NULL,
                available_at BIGINT NOT NULL,
                lock_token TEXT,
                lock_expires_at BIGINT,
                created_at BIGINT NOT NULL,
                finished_at BIGINT
            )
            """).run()
        try await sql.raw("CREATE INDEX webhook_jobs_due ON webhook_jobs (state, available_at)").run()
    }

    public func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.raw("DROP TABLE webhook_jobs").run()
    }
}

/// The embedded queue's migrations, in order.
public enum QueueMigrations {
    public static let all: [any Migration] = [CreateQueueTables(), AddQueueEventSegments(), CreateWebhookJobs()]
}
