import Foundation
import Logging
import Persistence
import RedisQueue
import SQLKit
import SQLQueue
import Testing
import WhisperAPICore

/// A fresh directory under the system temp folder, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "whisperapi-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func cleanup() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The databases the API tests run against.
enum DatabaseDriver: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    /// SQLite always; PostgreSQL when the test scripts started one (`make test` always does).
    static var available: [DatabaseDriver] {
        ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    var testDescription: String { rawValue }
}

/// A database of its own on the test PostgreSQL server (`TEST_DATABASE_URL`), dropped by `drop()`.
struct ScratchPostgresDatabase {
    let name: String
    let url: String
    let admin: DatabaseHandle

    static func create(logger: Logger) async throws -> ScratchPostgresDatabase {
        let adminURL = try #require(ProcessInfo.processInfo.environment["TEST_DATABASE_URL"])
        let admin = try await DatabaseHandle.openPostgres(url: adminURL, logger: logger)
        let name = "test_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try await admin.sql.raw("CREATE DATABASE \(unsafeRaw: name)").run()
        var components = try #require(URLComponents(string: adminURL))
        components.path = "/" + name
        return ScratchPostgresDatabase(name: name, url: try #require(components.string), admin: admin)
    }

    func drop() async {
        try? await admin.sql.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run()
        await admin.shutdown()
    }
}

/// The queue drivers the shared semantics tests run against.
enum QueueDriver: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, redis

    /// SQLite always; Redis when the test scripts started one (`make test` always does).
    static var available: [QueueDriver] {
        ProcessInfo.processInfo.environment["TEST_REDIS_URL"] == nil ? [.sqlite] : [.sqlite, .redis]
    }

    var testDescription: String { rawValue }
}

/// A SQLite database in a temporary file with the embedded queue's tables, closed afterwards.
func withQueueDatabase(logger: Logger, _ body: (DatabaseHandle) async throws -> Void) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanup() }
    let handle = try await DatabaseHandle.openSQLite(path: directory.path + "/queue.sqlite", logger: logger)
    do {
        try await handle.migrate(QueueMigrations.all)
        try await body(handle)
    } catch {
        await handle.shutdown()
        throw error
    }
    await handle.shutdown()
}

/// A fresh queue of the given driver: SQLite in a temporary file, or Redis under a unique key prefix.
func withQueue(
    _ driver: QueueDriver,
    retry: RetryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100)),
    maxStalledCount: Int = 1,
    _ body: (any TranscriptionQueue & JobLeasing) async throws -> Void
) async throws {
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    switch driver {
    case .sqlite:
        try await withQueueDatabase(logger: logger) { handle in
            let queue = SQLTranscriptionQueue(database: handle.database, retryPolicy: retry, maxStalledCount: maxStalledCount, logger: logger)
            try await body(queue)
            await queue.shutdown()
        }
    case .redis:
        let url = try #require(ProcessInfo.processInfo.environment["TEST_REDIS_URL"])
        let queue = try RedisTranscriptionQueue(
            url: url, prefix: "test-\(UUID().uuidString.prefix(8))", retryPolicy: retry, jobRetention: .seconds(3600),
            failedJobRetention: .seconds(3600), stalledInterval: .milliseconds(100), maxStalledCount: maxStalledCount, logger: logger)
        do {
            try await body(queue)
        } catch {
            try? await queue.queue.obliterate(force: true)
            await queue.shutdown()
            throw error
        }
        try? await queue.queue.obliterate(force: true)
        await queue.shutdown()
    }
}

func jobData(_ id: String) -> TranscriptionJobData {
    TranscriptionJobData(transcriptionId: id, userId: "user-1", s3AudioUrl: "audio/user-1/\(id)", model: "tiny.en", format: "json")
}

let result = TranscriptionJobResult(s3ResultUrl: "results/u/x.json", durationSeconds: 2.5, completedAt: "2026-01-01T00:00:00Z", language: "en")
