import Foundation
import WhisperAPICore

/// Queues the webhook for a transcription that reached an end, when it has a webhook URL.
public struct WebhookNotifier: Sendable {
    let queue: any WebhookQueue

    public init(queue: any WebhookQueue) {
        self.queue = queue
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The body every attempt sends.
    struct Payload: Encodable {
        let id: String
        let event: WebhookEvent
        let transcriptionId: String
        let status: TranscriptionStatus
        let occurredAt: Date
        let durationSeconds: Double?
        let language: String?
        let resultUrl: String?
        let errorMessage: String?
    }

    /// Queues the webhook for `row`'s terminal status. Safe to call more than once for the same end: the id
    /// (transcription, event, and how often it was retried) makes the queue keep one.
    public func notify(_ row: Transcription, at date: Date = Date()) async throws {
        guard let url = row.webhookURL, let keyId = row.apiKeyId, let event = WebhookEvent(row.status) else { return }
        let transcriptionId = row.id.lowercasedString
        // No ':' (BullMQ reserves it in job ids).
        let id = "\(transcriptionId)_\(event.rawValue)_\(row.retryCount)"
        let payload = Payload(
            id: id, event: event, transcriptionId: transcriptionId, status: row.status, occurredAt: date,
            durationSeconds: row.durationSeconds, language: row.language,
            resultUrl: row.status == .completed ? "/api/v1/transcriptions/\(transcriptionId)/result" : nil,
            errorMessage: row.errorMessage)
        let body = String(decoding: try Self.encoder.encode(payload), as: UTF8.self)
        try await queue.add(WebhookJob(id: id, transcriptionId: row.id, apiKeyId: keyId, event: event, url: url, body: body, createdAt: date))
    }

    /// The body of a batch's webhook: what each item came to.
    struct BatchPayload: Encodable {
        let id: String
        let event: WebhookEvent
        let batchId: String
        let status: BatchStatus
        let occurredAt: Date
        let total: Int
        let counts: [String: Int]
        let resultUrl: String
        let items: [BatchItemSummary]
    }

    /// Queues `batch.completed` for a batch whose items have all ended, when it has a webhook URL. The delivery's
    /// attempts are listed with the batch's first item (`GET /api/v1/transcriptions/:id/webhooks`). Safe to repeat: one
    /// id per end of the batch (the batch, and how often its items were retried: a retried item reopens it).
    public func notify(_ batch: Batch, items: [Transcription], at date: Date = Date()) async throws {
        guard let url = batch.webhookURL, let keyId = batch.apiKeyId, let first = items.first else { return }
        let batchId = batch.id.lowercasedString
        let id = "\(batchId)_\(WebhookEvent.batchCompleted.rawValue)_\(items.map(\.retryCount).reduce(0, +))"
        let tally = BatchTally(items)
        let payload = BatchPayload(
            id: id, event: .batchCompleted, batchId: batchId, status: tally.status, occurredAt: date, total: items.count,
            counts: tally.countsByName, resultUrl: batch.resultPath,
            items: items.map(BatchItemSummary.init))
        let body = String(decoding: try Self.encoder.encode(payload), as: UTF8.self)
        try await queue.add(WebhookJob(id: id, transcriptionId: first.id, apiKeyId: keyId, event: .batchCompleted, url: url, body: body, createdAt: date))
    }
}
