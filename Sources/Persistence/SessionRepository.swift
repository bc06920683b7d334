import FluentKit
import Foundation
import WhisperAPICore

/// A dashboard session as stored: only a hash of its cookie's token, never the token or the key.
public struct SessionRecord: Sendable, Equatable {
    public var id: UUID
    /// SHA-256 of the cookie's token, hex.
    public var tokenHash: String
    /// The API key the session was opened with: revoking it ends the session.
    public var keyId: UUID
    public var userId: UUID
    /// Sent by pages with every state-changing request (`X-CSRF-Token`).
    public var csrfToken: String
    public var createdAt: Date
    public var expiresAt: Date

    public init(id: UUID, tokenHash: String, keyId: UUID, userId: UUID, csrfToken: String, createdAt: Date, expiresAt: Date) {
        self.id = id
        self.tokenHash = tokenHash
        self.keyId = keyId
        self.userId = userId
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Dashboard sessions, in the database every API server shares (so a sign-out or a revoked key counts everywhere).
public struct SessionRepository: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    /// Opens a session for a key; returns the cookie's token (shown to the browser only) and the record.
    public func open(keyId: UUID, userId: UUID, lifetime: TimeInterval, now: Date = Date()) async throws -> (token: String, record: SessionRecord) {
        let token = "wsess_" + APIKeyMaterial.randomCharacters(43)
        let record = SessionRecord(
            id: UUID(), tokenHash: APIKeyMaterial.hash(token), keyId: keyId, userId: userId,
            csrfToken: APIKeyMaterial.randomCharacters(32), createdAt: now, expiresAt: now.addingTimeInterval(lifetime))
        try await SessionModel(record).create(on: database)
        // Expired sessions of this key go when a new one opens, so the table does not grow without bound.
        try await SessionModel.query(on: database).filter(\.$keyId == keyId).filter(\.$expiresAt < now).delete()
        return (token, record)
    }

    /// The unexpired session whose cookie holds `token`.
    public func find(token: String, now: Date = Date()) async throws -> SessionRecord? {
        guard let record = try await SessionModel.query(on: database).filter(\.$tokenHash == APIKeyMaterial.hash(token)).first()?.toDTO(),
              record.expiresAt > now
        else { return nil }
        return record
    }

    /// Ends a session (sign-out).
    public func close(id: UUID) async throws {
        try await SessionModel.query(on: database).filter(\.$id == id).delete()
    }
}
