import Foundation
import Hummingbird
import Persistence
import Services
import Webhooks
import WhisperAPICore

/// Webhook settings of the calling key and the delivery record of a transcription.
struct WebhookRoutes {
    let users: UserRepository
    let transcriptions: TranscriptionRepository
    let attemptLog: WebhookAttemptRepository
    let targets: WebhookTargetCheck
    /// The key's default webhook is part of what API servers remember of a key: a change is announced.
    let notices: any CredentialNotices

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("transcriptions/:id/webhooks", use: attempts)
        group.get("keys/current/webhook", use: settings)
        group.put("keys/current/webhook", use: setURL)
        group.post("keys/current/webhook/secret", use: rotateSecret)
    }

    struct AttemptDTO: Encodable, Sendable {
        let deliveryId: String
        let event: WebhookEvent
        let url: String
        let attempt: Int
        let statusCode: Int?
        let error: String?
        let succeeded: Bool
        let willRetry: Bool
        let durationMs: Int
        let createdAt: Date
    }

    struct AttemptsDTO: Encodable, Sendable {
        let items: [AttemptDTO]
    }

    /// `GET /api/v1/transcriptions/:id/webhooks`: every delivery attempt, oldest first.
    @Sendable func attempts(_ request: Request, context: AppRequestContext) async throws -> Success<AttemptsDTO> {
        let row = try await context.ownedTranscription(in: transcriptions)
        let items = try await attemptLog.attempts(transcriptionId: row.id).map { a in
            AttemptDTO(
                deliveryId: a.deliveryId, event: a.event, url: a.url, attempt: a.attempt, statusCode: a.statusCode, error: a.error,
                succeeded: a.succeeded, willRetry: a.willRetry, durationMs: a.durationMs, createdAt: a.createdAt)
        }
        return Success(AttemptsDTO(items: items))
    }

    struct SettingsDTO: Codable, Sendable {
        let url: String?

        enum CodingKeys: String, CodingKey {
            case url
        }

        init(url: String?) {
            self.url = url
        }

        /// `url` must be present (`null` clears it): an empty object is a mistake, not a request to clear.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            guard container.contains(.url) else {
                throw DecodingError.keyNotFound(CodingKeys.url, .init(codingPath: [], debugDescription: "url is required"))
            }
            url = try container.decode(String?.self, forKey: .url)
        }

        /// `url` is always present, `null` when unset.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(url, forKey: .url)
        }
    }

    /// `GET /api/v1/keys/current/webhook`: the calling key's default webhook URL.
    @Sendable func settings(_ request: Request, context: AppRequestContext) async throws -> Success<SettingsDTO> {
        Success(SettingsDTO(url: try context.requireIdentity().defaultWebhookURL))
    }

    /// `PUT /api/v1/keys/current/webhook` with `{"url": "https://…"}` (or `null` to clear).
    @Sendable func setURL(_ request: Request, context: AppRequestContext) async throws -> Success<SettingsDTO> {
        let identity = try context.requireIdentity()
        let body = try await request.decodeJSON(SettingsDTO.self, context: context, expected: #"{"url": "https://…"} or {"url": null}"#)
        let url = body.url?.trimmingCharacters(in: .whitespaces).nilIfEmpty
        if let url { try await targets.check(url) }
        try await users.setWebhookURL(keyId: identity.keyId, url)
        await notices.announce()
        return Success(SettingsDTO(url: url))
    }

    struct SecretDTO: Encodable, Sendable {
        let secret: String
    }

    /// `POST /api/v1/keys/current/webhook/secret`: a new signing secret for the calling key, shown this once.
    @Sendable func rotateSecret(_ request: Request, context: AppRequestContext) async throws -> Success<SecretDTO> {
        let identity = try context.requireIdentity()
        let secret = APIKeyMaterial.generateWebhookSecret()
        try await users.setWebhookSecret(keyId: identity.keyId, secret)
        return Success(SecretDTO(secret: secret))
    }
}
