import FluentKit
import Foundation
import WhisperAPICore

/// Users and their API keys.
public struct UserRepository: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    /// Creates a user; throws when the email is taken.
    public func create(_ user: User) async throws -> User {
        let model = UserModel(user)
        try await model.create(on: database)
        return model.toDTO()
    }

    public func find(id: UUID) async throws -> User? {
        try await UserModel.find(id, on: database)?.toDTO()
    }

    public func find(email: String) async throws -> User? {
        try await UserModel.query(on: database).filter(\.$email == email).first()?.toDTO()
    }

    public func count() async throws -> Int {
        try await UserModel.query(on: database).count()
    }

    public func all() async throws -> [User] {
        try await UserModel.query(on: database).sort(\.$createdAt).all().map { $0.toDTO() }
    }

    // MARK: API keys

    /// Stores a new key record (the hash and prefix only).
    public func addKey(_ record: APIKeyRecord) async throws {
        try await APIKeyModel(record).create(on: database)
    }

    /// The key with this display prefix, revoked or not.
    public func key(prefix: String) async throws -> APIKeyRecord? {
        try await APIKeyModel.query(on: database).filter(\.$prefix == prefix).first()?.toDTO()
    }

    /// Keys of one user, newest first.
    public func keys(userId: UUID) async throws -> [APIKeyRecord] {
        try await APIKeyModel.query(on: database).filter(\.$userId == userId).sort(\.$createdAt, .descending).all()
            .map { $0.toDTO() }
    }

    /// Marks a key revoked; false when no active key has that prefix.
    public func revokeKey(prefix: String, at date: Date = Date()) async throws -> Bool {
        guard let model = try await APIKeyModel.query(on: database).filter(\.$prefix == prefix).first(),
              model.revokedAt == nil
        else { return false }
        model.revokedAt = date
        try await model.update(on: database)
        return true
    }

    /// Records that a key was just used.
    public func touchKey(id: UUID, at date: Date = Date()) async throws {
        try await APIKeyModel.query(on: database).filter(\.$id == id).set(\.$lastUsedAt, to: date).update()
    }
}

extension UserRepository {
    /// The key with this id, revoked or not.
    public func key(id: UUID) async throws -> APIKeyRecord? {
        try await APIKeyModel.find(id, on: database)?.toDTO()
    }

    /// Sets (or with nil clears) a key's default webhook URL.
    public func setWebhookURL(keyId: UUID, _ url: String?) async throws {
        try await APIKeyModel.query(on: database).filter(\.$id == keyId).set(\.$webhookURL, to: url).update()
    }

    /// Replaces a key's webhook signing secret.
    public func setWebhookSecret(keyId: UUID, _ secret: String) async throws {
        try await APIKeyModel.query(on: database).filter(\.$id == keyId).set(\.$webhookSecret, to: secret).update()
    }
}

extension UserRepository {
    /// Changes a user's plan; returns the user, or nil when there is none with that id.
    public func setPlan(userId: UUID, _ plan: Plan) async throws -> User? {
        guard let model = try await UserModel.find(userId, on: database) else { return nil }
        model.plan = plan.rawValue
        try await model.update(on: database)
        return model.toDTO()
    }
}
