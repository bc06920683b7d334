import Foundation
import Logging
import Persistence
import ServiceLifecycle
import Services
import WhisperAPICore

/// Deletes finished jobs past their retention and idempotency keys past their 24 hours, periodically.
public struct RetentionCleanup: Service {
    let queue: any TranscriptionQueue
    let idempotency: IdempotencyRepository
    let configuration: ServiceConfiguration
    let interval: Duration
    let logger: Logger

    public init(backend: Backend, interval: Duration = .seconds(600), logger: Logger) {
        queue = backend.queue
        idempotency = IdempotencyRepository(database: backend.database.database)
        configuration = backend.configuration
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await cleanOnce()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Runs one cleanup pass.
    public func cleanOnce() async {
        let now = Date()
        do {
            let removed = try await queue.cleanupOldJobs(
                completedBefore: now.addingTimeInterval(-configuration.jobRetention.inSeconds),
                failedBefore: now.addingTimeInterval(-configuration.failedJobRetention.inSeconds))
            if removed > 0 { logger.info("removed old jobs", metadata: ["count": "\(removed)"]) }
        } catch {
            logger.warning("job cleanup failed", metadata: ["error": "\(error)"])
        }
        do {
            try await idempotency.deleteOlder(than: now.addingTimeInterval(-Submission.idempotencyWindow))
        } catch {
            logger.warning("idempotency key cleanup failed", metadata: ["error": "\(error)"])
        }
    }
}
