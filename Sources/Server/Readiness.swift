import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import Persistence
import WhisperAPICore

/// `GET /ready`: the database, the queue and the object store each answer within `timeout`; otherwise 503
/// `SERVICE_NOT_READY`, naming the ones that did not.
struct Readiness {
    let database: DatabaseHandle
    let queue: any TranscriptionQueue
    let storage: any ObjectStorage
    var timeout: Duration = .seconds(2)

    /// Each backing service and whether it answered in time.
    func check() async -> [(name: String, ok: Bool)] {
        let database = database
        let queue = queue
        let storage = storage
        async let databaseOK = Self.answers(within: timeout) { try await database.ping() }
        async let queueOK = Self.answers(within: timeout) { _ = try await queue.getQueueStats() }
        // A key that is never written: any answer (nothing there) shows the store is reachable.
        async let storageOK = Self.answers(within: timeout) { _ = try await storage.read(key: "readiness/probe", offset: 0, length: 1) }
        return [("database", await databaseOK), ("queue", await queueOK), ("storage", await storageOK)]
    }

    func response(logger: Logger) async throws -> Response {
        let results = await check()
        let down = results.filter { !$0.ok }.map(\.name)
        guard down.isEmpty else {
            logger.warning("not ready", metadata: ["down": "\(down.joined(separator: ","))"])
            throw APIError(.serviceNotReady, "not ready: \(down.joined(separator: ", ")) unavailable", allowed: down)
        }
        return try JSONBody.response(.ok, ["status": "ready"])
    }

    /// Whether `body` finishes without error within `timeout`. A body that hangs is left behind, not awaited.
    static func answers(within timeout: Duration, _ body: @escaping @Sendable () async throws -> Void) async -> Bool {
        let outcome = NIOLockedValueBox<CheckedContinuation<Bool, Never>?>(nil)
        let finish: @Sendable (Bool) -> Void = { value in
            outcome.withLockedValue { continuation in
                continuation?.resume(returning: value)
                continuation = nil
            }
        }
        return await withCheckedContinuation { continuation in
            outcome.withLockedValue { $0 = continuation }
            let work = Task { finish((try? await body()) != nil) }
            Task {
                try? await Task.sleep(for: timeout)
                finish(false)
                work.cancel()
            }
        }
    }
}
