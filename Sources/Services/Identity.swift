import Foundation
import Persistence
import WhisperAPICore

/// Who is calling: set by `AuthMiddleware` on protected routes.
public struct Identity: Sendable {
    public let user: User
    public let keyId: UUID
    /// The key's display prefix (`wapi_AbCd1234`).
    public var keyPrefix: String
    /// Where the key's transcriptions report when a submit names no webhook URL.
    public var defaultWebhookURL: String?
    /// The dashboard session the request came with; nil for a bearer key.
    public var session: SessionRecord?

    public init(user: User, keyId: UUID, keyPrefix: String, defaultWebhookURL: String?, session: SessionRecord?) {
        self.user = user
        self.keyId = keyId
        self.keyPrefix = keyPrefix
        self.defaultWebhookURL = defaultWebhookURL
        self.session = session
    }
}
