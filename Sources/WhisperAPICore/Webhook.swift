import Foundation

/// What a webhook reports: a transcription reached an end.
public enum WebhookEvent: String, Codable, Sendable, CaseIterable {
    case completed = "transcription.completed"
    case failed = "transcription.failed"
    case cancelled = "transcription.cancelled"
    /// Every item of a batch has ended (completed, failed or cancelled).
    case batchCompleted = "batch.completed"

    /// The event for the end of a job; nil while the transcription can still change, and for an expiry (not an end).
    public init?(_ status: TranscriptionStatus) {
        switch status {
        case .completed: self = .completed
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        case .queued, .processing, .expired: return nil
        }
    }
}

/// One webhook to send, as it waits in the webhook queue. Holds no secret: the signing secret is read
/// from the API key's record when it is sent.
public struct WebhookJob: Codable, Sendable, Equatable {
    /// Unique per event occurrence; the queue job id, and the `WhisperAPI-Delivery` header receivers dedupe on.
    public var id: String
    public var transcriptionId: UUID
    /// The key whose secret signs the body.
    public var apiKeyId: UUID
    public var event: WebhookEvent
    public var url: String
    /// The JSON body, fixed when the event happened so that every attempt sends the same bytes.
    public var body: String
    /// When the event happened; attempts stop once the retry window after it has passed.
    public var createdAt: Date

    public init(id: String, transcriptionId: UUID, apiKeyId: UUID, event: WebhookEvent, url: String, body: String, createdAt: Date = Date()) {
        self.id = id
        self.transcriptionId = transcriptionId
        self.apiKeyId = apiKeyId
        self.event = event
        self.url = url
        self.body = body
        self.createdAt = createdAt
    }
}

/// One attempt to deliver a webhook, as recorded and shown at `GET /api/v1/transcriptions/:id/webhooks`.
public struct WebhookAttempt: Codable, Sendable, Equatable {
    public var id: UUID
    public var deliveryId: String
    public var transcriptionId: UUID
    public var event: WebhookEvent
    public var url: String
    /// 1 for the first try.
    public var attempt: Int
    /// The receiver's HTTP status, when it answered.
    public var statusCode: Int?
    /// Why the attempt failed (a non-2xx status, a timeout, a refused target).
    public var error: String?
    public var succeeded: Bool
    /// Whether another attempt is scheduled after this failed one.
    public var willRetry: Bool
    public var durationMs: Int
    public var createdAt: Date

    public init(
        id: UUID = UUID(), deliveryId: String, transcriptionId: UUID, event: WebhookEvent, url: String, attempt: Int,
        statusCode: Int?, error: String?, succeeded: Bool, willRetry: Bool, durationMs: Int, createdAt: Date = Date()
    ) {
        self.id = id
        self.deliveryId = deliveryId
        self.transcriptionId = transcriptionId
        self.event = event
        self.url = url
        self.attempt = attempt
        self.statusCode = statusCode
        self.error = error
        self.succeeded = succeeded
        self.willRetry = willRetry
        self.durationMs = durationMs
        self.createdAt = createdAt
    }
}

/// How long and how often a webhook is retried: exponential backoff from `baseDelay`, for at most `window`.
public struct WebhookRetryPolicy: Sendable, Equatable {
    public var baseDelay: Duration
    public var window: Duration

    public init(baseDelay: Duration, window: Duration) {
        self.baseDelay = baseDelay
        self.window = window
    }

    /// Attempts in all: as many as fit in the window when each wait doubles (`base * (2^(n-1) - 1) <= window`).
    public var maxAttempts: Int {
        let ratio = window / baseDelay
        var attempts = 1
        while attempts < 30, Double((1 << attempts) - 1) <= ratio { attempts += 1 }
        return attempts
    }

    /// The wait before the next attempt after `attemptsMade` failed ones.
    public func delay(afterAttempts attemptsMade: Int) -> Duration {
        RetryPolicy(maxAttempts: maxAttempts, baseDelay: baseDelay).delay(afterAttempts: attemptsMade)
    }
}

/// Webhooks waiting to be sent, kept in the service's queue backend so that none is lost when a
/// server stops, and retried there with backoff.
public protocol WebhookQueue: Sendable {
    /// Adds a webhook; one with the same id already in the queue (sent or not) is left as it is.
    func add(_ job: WebhookJob) async throws
    /// Sends due webhooks with `deliver` (given the job and its attempt number, from 1) until the calling
    /// task is cancelled. A thrown error schedules another attempt while the retry policy allows.
    func process(concurrency: Int, deliver: @escaping @Sendable (WebhookJob, Int) async throws -> Void) async throws
    /// Releases the queue's connections.
    func close() async
}
