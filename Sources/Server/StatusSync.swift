import Foundation
import Logging
import Persistence
import ServiceLifecycle
import Services
import Webhooks
import WhisperAPICore

/// Turns queue events into transcription row updates, in order, from a persisted cursor.
///
/// Workers never write the database; this is the only path from a job's progress to its row.
/// Applying an event twice has the same effect as once, so a crash between applying and saving
/// the cursor loses nothing.
public struct StatusSync: Service {
    let queue: any TranscriptionQueue
    let transcriptions: TranscriptionRepository
    let cursors: SyncCursorRepository
    let webhooks: WebhookNotifier
    let batchCompletion: BatchCompletion
    let usage: UsageRepository
    let logger: Logger

    public init(backend: Backend, logger: Logger) {
        queue = backend.queue
        transcriptions = backend.transcriptions
        cursors = backend.cursors
        webhooks = WebhookNotifier(queue: backend.webhooks)
        batchCompletion = backend.batchCompletion
        usage = backend.usage
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var cursor = try? await cursors.position(name: queue.eventLogName)
            await reconcile()
            while !Task.isCancelled {
                do {
                    if let last = try await syncOnce(after: cursor, waitUpTo: .seconds(1)) { cursor = last }
                } catch {
                    logger.error("status sync failed; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// Applies one batch of events; returns the new cursor, or nil when there was nothing new.
    public func syncOnce(after cursor: String?, waitUpTo: Duration? = nil) async throws -> String? {
        let events = try await queue.events(after: cursor, limit: 200, waitUpTo: waitUpTo)
        guard let last = events.last else { return nil }
        for event in events { try await apply(event) }
        try await cursors.save(name: queue.eventLogName, position: last.cursor)
        return last.cursor
    }

    /// Brings unfinished rows up to date from the queue's own job state, for events that were
    /// trimmed from the log before this process could read them.
    public func reconcile() async {
        do {
            for row in try await transcriptions.unfinished(limit: 1000) {
                guard let jobId = row.jobId else { continue }
                guard let job = try await queue.getJobStatus(jobId) else {
                    try await transcriptions.update(id: row.id) { t in
                        guard !t.status.isTerminal else { return }
                        t.status = .failed
                        t.errorMessage = "JOB_LOST: the job is no longer in the queue"
                    }
                    continue
                }
                let kind: QueueEvent.Kind? = switch job.state {
                case .completed: .completed
                case .failed: .failed
                case .cancelled: .cancelled
                case .active: .active
                case .waiting, .delayed: nil
                }
                guard let kind else { continue }
                try await apply(QueueEvent(
                    cursor: "", jobId: jobId, kind: kind, progress: job.progress, returnValue: job.returnValue,
                    failedReason: job.failedReason, attemptsMade: job.attemptsMade))
            }
        } catch {
            logger.warning("reconciliation failed", metadata: ["error": "\(error)"])
        }
    }

    /// The status each ending event leaves a row in.
    static let endings: [QueueEvent.Kind: TranscriptionStatus] = [.completed: .completed, .failed: .failed, .cancelled: .cancelled]

    /// Applies one event to its row; a completion is metered, and an event that ends the transcription queues
    /// its webhook. A failure of either throws, so the event is applied again later (both keep one of each).
    func apply(_ event: QueueEvent) async throws {
        guard event.kind != .other else { return }
        let updated = try await transcriptions.update(jobId: event.jobId) { t in
            switch event.kind {
            case .active:
                guard !t.status.isTerminal else { return }
                t.status = .processing
            case .progress:
                guard !t.status.isTerminal else { return }
                t.status = .processing
                t.progress = max(0, min(100, event.progress ?? t.progress))
                if let segment = event.segment { t.appendPartial(segment) }
            case .waiting:
                guard t.status != .completed && t.status != .cancelled else { return }
                t.status = .queued
                t.progress = 0
                t.errorMessage = event.failedReason
                t.clearPartial()
            case .completed:
                guard t.status != .cancelled else { return }
                t.status = .completed
                t.progress = 100
                t.errorMessage = nil
                t.clearPartial()
                if let result = event.returnValue {
                    t.resultKey = result.s3ResultUrl
                    t.durationSeconds = result.durationSeconds
                    t.language = result.language ?? t.language
                    t.completedAt = ISO8601DateFormatter().date(from: result.completedAt) ?? Date()
                } else {
                    t.completedAt = Date()
                }
            case .failed:
                guard t.status != .cancelled && t.status != .completed else { return }
                t.status = .failed
                t.errorMessage = event.failedReason ?? "the job failed"
                t.clearPartial()
            case .cancelled:
                guard t.status != .completed else { return }
                t.status = .cancelled
                t.clearPartial()
            case .other:
                return
            }
        }
        if let row = updated, let status = Self.endings[event.kind], row.status == status {
            if status == .completed, let seconds = row.durationSeconds {
                // Metered once per transcription, however often its completion is applied.
                try await usage.record(transcriptionId: row.id, userId: row.userId, audioSeconds: seconds, completedAt: row.completedAt ?? Date())
            }
            try await webhooks.notify(row)
            try await batchCompletion.itemEnded(row)
        }
    }
}
