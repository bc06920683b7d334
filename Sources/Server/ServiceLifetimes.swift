import Foundation
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
