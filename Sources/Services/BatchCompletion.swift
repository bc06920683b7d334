import Foundation
import Persistence
import Webhooks
import WhisperAPICore

/// Ends a batch when its last item ends: marks it completed once, on whichever API server sees that first, and queues
/// its one `batch.completed` webhook.
public struct BatchCompletion: Sendable {
    let batches: BatchRepository
    let webhooks: WebhookNotifier

    public init(batches: BatchRepository, webhooks: WebhookNotifier) {
        self.batches = batches
        self.webhooks = webhooks
    }

    /// Called for a transcription that ended (or was deleted): ends its batch if that was the last item running.
    public func itemEnded(_ item: Transcription) async throws {
        guard let batchId = item.batchId else { return }
        try await check(batchId)
    }

    /// Ends the batch if every item that is left has ended. Safe to call any number of times: only the first call that
    /// finds it ended queues the webhook (a failure to queue it undoes the mark, so that a later call tries again).
    public func check(_ batchId: UUID) async throws {
        guard let batch = try await batches.find(id: batchId, owner: nil), batch.completedAt == nil else { return }
        let items = try await batches.items(of: batchId)
        guard items.allSatisfy(\.status.isTerminal) else { return }
        guard try await batches.markCompleted(id: batchId) else { return }
        do {
            try await webhooks.notify(batch, items: items)
        } catch {
            try? await batches.reopen(id: batchId)
            throw error
        }
    }
}
