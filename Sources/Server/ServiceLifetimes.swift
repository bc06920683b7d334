import Foundation
import Limits
import Logging
import RedisClient
import ServiceLifecycle
import WhisperAPICore

/// Keeps the backends open until the rest of the service group has stopped.
struct BackendLifetime: Service {
    let backend: Backend

    func run() async throws {
        try? await gracefulShutdown()
        await backend.close()
    }
}

/// Closes the queue once everything after it in the service group has stopped.
struct QueueLifetime: Service {
    let queue: any TranscriptionQueue

    func run() async throws {
        try? await gracefulShutdown()
        await queue.shutdown()
    }
}

/// Closes a Redis client of its own when the process stops (after the services listed behind it).
struct RedisClientLifetime: Service {
    let client: RedisClient

    func run() async throws {
        try? await gracefulShutdown()
        await client.close()
    }
}

/// Hears other API servers' credential changes for as long as the application runs.
struct CredentialFollower: Service {
    let notices: any CredentialNotices

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await notices.follow()
            try? await gracefulShutdown()
        }
    }
}

/// Keeps this process's claim that its workers can diarize current in Redis (renewed every 10 s, good for 30 s, so a
/// dead worker stops counting within half a minute), and withdraws it when the process stops.
struct DiarizationHeartbeat: Service {
    let board: RedisDiarizationBoard
    let worker = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await board.advertise(worker: worker, for: .seconds(30))
                } catch {
                    logger.warning("could not advertise diarization", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(10))
            }
        }
        await board.withdraw(worker: worker)
    }
}
