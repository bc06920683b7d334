import FluentKit
import Foundation
import WhisperAPICore

// MARK: - Users

/// A row of `users`.
final class UserModel: Model, @unchecked Sendable {
    static let schema = "users"

    @ID(key: .id) var id: UUID?
    @Field(key: "email") var email: String
    @Field(key: "plan") var plan: String
    @Field(key: "is_admin") var isAdmin: Bool
    @Field(key: "created_at") var createdAt: Date

    init() {}

    init(_ user: User) {
        id = user.id
        email = user.email
        plan = user.plan.rawValue
        isAdmin = user.isAdmin
        createdAt = user.createdAt
    }

    func toDTO() -> User {
        User(id: id ?? UUID(), email: email, plan: Plan(rawValue: plan) ?? .free, isAdmin: isAdmin, createdAt: createdAt)
    }
}

// MARK: - API keys

/// A row of `api_keys`: a hash and a display prefix, never the key.
final class APIKeyModel: Model, @unchecked Sendable {
    static let schema = "api_keys"

    @ID(key: .id) var id: UUID?
    @Field(key: "user_id") var userId: UUID
    @OptionalField(key: "name") var name: String?
    @Field(key: "prefix") var prefix: String
    @Field(key: "key_hash") var keyHash: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @OptionalField(key: "webhook_secret") var webhookSecret: String?
    @OptionalField(key: "webhook_url") var webhookURL: String?

    init() {}

    init(_ record: APIKeyRecord) {
        id = record.id
        userId = record.userId
        name = record.name
        prefix = record.prefix
        keyHash = record.hash
        createdAt = record.createdAt
        lastUsedAt = record.lastUsedAt
        revokedAt = record.revokedAt
        webhookSecret = record.webhookSecret
        webhookURL = record.webhookURL
    }

    func toDTO() -> APIKeyRecord {
        APIKeyRecord(
            id: id ?? UUID(), userId: userId, name: name, prefix: prefix, hash: keyHash,
            createdAt: createdAt, lastUsedAt: lastUsedAt, revokedAt: revokedAt, webhookSecret: webhookSecret, webhookURL: webhookURL
        )
    }
}

// MARK: - Transcriptions

/// A row of `transcriptions`, with the seed's fields.
final class TranscriptionModel: Model, @unchecked Sendable {
    static let schema = "transcriptions"

    @ID(key: .id) var id: UUID?
    @Field(key: "user_id") var userId: UUID
    @Field(key: "status") var status: String
    @OptionalField(key: "job_id") var jobId: String?
    @Field(key: "progress") var progress: Int
    @Field(key: "s3_audio_url") var audioKey: String
    @OptionalField(key: "s3_result_url") var resultKey: String?
    @OptionalField(key: "duration_seconds") var durationSeconds: Double?
    @OptionalField(key: "error_message") var errorMessage: String?
    @Field(key: "model") var model: String
    @Field(key: "format") var format: String
    @OptionalField(key: "language") var language: String?
    @Field(key: "task") var task: String
    @OptionalField(key: "prompt") var prompt: String?
    @OptionalField(key: "original_filename") var originalFilename: String?
    @Field(key: "file_size") var fileSize: Int64
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    @OptionalField(key: "completed_at") var completedAt: Date?
    @OptionalField(key: "partial_text") var partialText: String?
    @Field(key: "partial_segments") var partialSegments: Int
    @OptionalField(key: "api_key_id") var apiKeyId: UUID?
    @OptionalField(key: "webhook_url") var webhookURL: String?
    @Field(key: "retry_count") var retryCount: Int
    @OptionalField(key: "batch_id") var batchId: UUID?
    /// A random token replaced by every write: a writer that read another token lost a race and reads again.
    @Field(key: "revision") var revision: Int64

    init() {}

    init(_ t: Transcription) {
        id = t.id
        revision = 0
        apply(t)
    }

    func apply(_ t: Transcription) {
        userId = t.userId
        status = t.status.rawValue
        jobId = t.jobId
        progress = t.progress
        audioKey = t.audioKey
        resultKey = t.resultKey
        durationSeconds = t.durationSeconds
        errorMessage = t.errorMessage
        model = t.model
        format = t.format.rawValue
        language = t.language
        task = t.task.rawValue
        prompt = t.prompt
        originalFilename = t.originalFilename
        fileSize = t.fileSize
        createdAt = t.createdAt
        updatedAt = t.updatedAt
        completedAt = t.completedAt
        partialText = t.partialText
        partialSegments = t.partialSegments
        apiKeyId = t.apiKeyId
        webhookURL = t.webhookURL
        retryCount = t.retryCount
        batchId = t.batchId
    }

    func toDTO() -> Transcription {
        Transcription(
            id: id ?? UUID(), userId: userId, status: TranscriptionStatus(rawValue: status) ?? .failed, jobId: jobId,
            progress: progress, audioKey: audioKey, resultKey: resultKey, durationSeconds: durationSeconds,
            errorMessage: errorMessage, model: model, format: ResultFormat(rawValue: format) ?? .json, language: language,
            task: TranscriptionTask(rawValue: task) ?? .transcribe, prompt: prompt, originalFilename: originalFilename,
            fileSize: fileSize, createdAt: createdAt, updatedAt: updatedAt, completedAt: completedAt,
            partialText: partialText, partialSegments: partialSegments, apiKeyId: apiKeyId, webhookURL: webhookURL,
            retryCount: retryCount, batchId: batchId
        )
    }
}

// MARK: - Status sync cursor

/// The last queue event the status sync applied, one row per consumer.
final class SyncCursorModel: Model, @unchecked Sendable {
    static let schema = "sync_cursors"

    @ID(custom: "name", generatedBy: .user) var id: String?
    @Field(key: "position") var position: String
    @Field(key: "updated_at") var updatedAt: Date

    init() {}

    init(name: String, position: String) {
        id = name
        self.position = position
        updatedAt = Date()
    }
}

// MARK: - Webhook attempts

/// A row of `webhook_attempts`: one try to deliver one webhook.
final class WebhookAttemptModel: Model, @unchecked Sendable {
    static let schema = "webhook_attempts"

    @ID(key: .id) var id: UUID?
    @Field(key: "delivery_id") var deliveryId: String
    @Field(key: "transcription_id") var transcriptionId: UUID
    @Field(key: "event") var event: String
    @Field(key: "url") var url: String
    @Field(key: "attempt") var attempt: Int
    @OptionalField(key: "status_code") var statusCode: Int?
    @OptionalField(key: "error") var error: String?
    @Field(key: "succeeded") var succeeded: Bool
    @Field(key: "will_retry") var willRetry: Bool
    @Field(key: "duration_ms") var durationMs: Int
    @Field(key: "created_at") var createdAt: Date

    init() {}

    init(_ a: WebhookAttempt) {
        id = a.id
        deliveryId = a.deliveryId
        transcriptionId = a.transcriptionId
        event = a.event.rawValue
        url = a.url
        attempt = a.attempt
        statusCode = a.statusCode
        error = a.error
        succeeded = a.succeeded
        willRetry = a.willRetry
        durationMs = a.durationMs
        createdAt = a.createdAt
    }

    func toDTO() -> WebhookAttempt {
        WebhookAttempt(
            id: id ?? UUID(), deliveryId: deliveryId, transcriptionId: transcriptionId, event: WebhookEvent(rawValue: event) ?? .failed,
            url: url, attempt: attempt, statusCode: statusCode, error: error, succeeded: succeeded, willRetry: willRetry,
            durationMs: durationMs, createdAt: createdAt)
    }
}

// MARK: - Usage

/// A row of `usage_records`: the audio of one completed transcription, counted once (its id is the key).
final class UsageRecordModel: Model, @unchecked Sendable {
    static let schema = "usage_records"

    @ID(custom: "transcription_id", generatedBy: .user) var id: UUID?
    @Field(key: "user_id") var userId: UUID
    @Field(key: "period") var period: String
    @Field(key: "audio_seconds") var audioSeconds: Double
    @Field(key: "created_at") var createdAt: Date

    init() {}

    init(transcriptionId: UUID, userId: UUID, period: String, audioSeconds: Double, createdAt: Date) {
        id = transcriptionId
        self.userId = userId
        self.period = period
        self.audioSeconds = audioSeconds
        self.createdAt = createdAt
    }
}

// MARK: - Dashboard sessions

/// A row of `sessions`: a signed-in dashboard, tied to the API key it was opened with.
final class SessionModel: Model, @unchecked Sendable {
    static let schema = "sessions"

    @ID(key: .id) var id: UUID?
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "key_id") var keyId: UUID
    @Field(key: "user_id") var userId: UUID
    @Field(key: "csrf_token") var csrfToken: String
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date

    init() {}

    init(_ record: SessionRecord) {
        id = record.id
        tokenHash = record.tokenHash
        keyId = record.keyId
        userId = record.userId
        csrfToken = record.csrfToken
        createdAt = record.createdAt
        expiresAt = record.expiresAt
    }

    func toDTO() -> SessionRecord {
        SessionRecord(
            id: id ?? UUID(), tokenHash: tokenHash, keyId: keyId, userId: userId, csrfToken: csrfToken,
            createdAt: createdAt, expiresAt: expiresAt)
    }
}
