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
}
