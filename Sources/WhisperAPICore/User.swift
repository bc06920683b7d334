import Foundation

/// A customer account.
public struct User: Codable, Sendable, Equatable {
    public var id: UUID
    public var email: String
    public var plan: Plan
    public var isAdmin: Bool
    public var createdAt: Date

    public init(id: UUID = UUID(), email: String, plan: Plan, isAdmin: Bool = false, createdAt: Date = Date()) {
        self.id = id
        self.email = email
        self.plan = plan
        self.isAdmin = isAdmin
        self.createdAt = createdAt
    }
}

/// An API key as stored: only its hash and a display prefix, never the key itself.
public struct APIKeyRecord: Codable, Sendable, Equatable {
    public var id: UUID
    public var userId: UUID
    public var name: String?
    public var prefix: String
    public var hash: String
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?
    /// Signs the webhooks of transcriptions submitted with this key (kept readable: signing needs it).
    public var webhookSecret: String?
    /// Where this key's transcriptions report when a submit names no `webhook_url`.
    public var webhookURL: String?

    public init(
        id: UUID = UUID(), userId: UUID, name: String?, prefix: String, hash: String,
        createdAt: Date = Date(), lastUsedAt: Date? = nil, revokedAt: Date? = nil, webhookSecret: String? = nil, webhookURL: String? = nil
    ) {
        self.id = id
        self.userId = userId
        self.name = name
        self.prefix = prefix
        self.hash = hash
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
        self.webhookSecret = webhookSecret
        self.webhookURL = webhookURL
    }
}
