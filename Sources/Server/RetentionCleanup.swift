import Foundation
import Logging
import Persistence
import ServiceLifecycle
import Services
import WhisperAPICore

/// Periodically (`RETENTION_SWEEP_SECONDS`): deletes finished jobs past their retention, idempotency keys past their
/// 24 hours, and audio and results past their plan's retention (`DataRetention`).
public struct RetentionCleanup: Service {
    let queue: any TranscriptionQueue
    let idempotency: IdempotencyRepository
    let data: DataRetention
    let configuration: ServiceConfiguration
    let interval: Duration
    let logger: Logger

    public init(backend: Backend, logger: Logger) {
        queue = backend.queue
        idempotency = backend.idempotencyKeys
        data = backend.dataRetention
        configuration = backend.configuration
        interval = backend.configuration.retentionSweepInterval
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
            let (audio, expired) = try await data.sweep(now: now)
            if audio + expired > 0 { logger.info("retention: deleted audio and expired results", metadata: ["audio": "\(audio)", "expired": "\(expired)"]) }
        } catch {
            logger.warning("retention sweep failed", metadata: ["error": "\(error)"])
        }
        do {
            try await idempotency.deleteOlder(than: now.addingTimeInterval(-Submission.idempotencyWindow))
        } catch {
            logger.warning("idempotency key cleanup failed", metadata: ["error": "\(error)"])
        }
    }
}
