import Foundation
import Logging
import Persistence
import SQLQueue
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

/// A real SQLite-backed queue in a temporary file.
func withQueue(
    retry: RetryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(100)),
    maxStalledCount: Int = 1,
    _ body: (SQLTranscriptionQueue) async throws -> Void
) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.cleanup() }
    var logger = Logger(label: "test")
    logger.logLevel = .warning
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
}

func jobData(_ id: String) -> TranscriptionJobData {
    TranscriptionJobData(transcriptionId: id, userId: "user-1", s3AudioUrl: "audio/user-1/\(id)", model: "tiny.en", format: "json")
}

let result = TranscriptionJobResult(s3ResultUrl: "results/u/x.json", durationSeconds: 2.5, completedAt: "2026-01-01T00:00:00Z", language: "en")
