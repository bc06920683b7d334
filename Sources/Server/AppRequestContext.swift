import Foundation
import Hummingbird
import NIOCore
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

/// The request context: only request-scoped data, such as the caller's identity.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?
    /// The client's connection: it closes when the client goes away.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        identity = nil
        channel = source.channel
    }

    /// Encodable answers use the service's JSON encoder (ISO 8601 dates, sorted keys).
    public var responseEncoder: JSONEncoder { JSONBody.encoder }

    /// The caller; routes behind `AuthMiddleware` always have one.
    public func requireIdentity() throws -> Identity {
        guard let identity else { throw APIError.missingKey }
        return identity
    }
}
