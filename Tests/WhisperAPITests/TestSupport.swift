import Foundation
import Logging
import Persistence
import RedisQueue
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

/// The queue drivers the shared semantics tests run against.
enum QueueDriver: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, redis

    /// SQLite always; Redis when the test scripts started one (`make test` always does).
    static var available: [QueueDriver] {
        ProcessInfo.processInfo.environment["TEST_REDIS_URL"] == nil ? [.sqlite] : [.sqlite, .redis]
    }

    var testDescription: String { rawValue }
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
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let handle = try await DatabaseHandle.openSQLite(path: directory.path + "/queue.sqlite", logger: logger)
        do {
            try await handle.migrate([CreateQueueTables()])
            let queue = SQLTranscriptionQueue(database: handle.database, retryPolicy: retry, maxStalledCount: maxStalledCount, logger: logger)
            try await body(queue)
            await queue.shutdown()
        } catch {
            await handle.shutdown()
            throw error
        }
        await handle.shutdown()
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
