import Foundation
import HTTPTypes
import Hummingbird
import Persistence
import Services
import WhisperAPICore

/// Turns presented credentials into the caller's identity: an API key, or a session opened with one. A revoked key
/// (and every session opened with it) is refused at once, on every API server: both are read from the database.
struct KeyAuthenticator {
    let users: UserRepository

    /// The key of an `Authorization: Bearer <key>` header.
    static func bearerKey(_ header: String) throws -> String {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.invalidKey }
        let key = parts[1].drop(while: { $0 == " " || $0 == "\t" })
        guard let last = key.lastIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        return String(key[...last])
    }

    /// The identity of a plaintext API key.
    func identity(key: String) async throws -> Identity {
        guard let prefix = APIKeyMaterial.prefix(of: key) else { throw APIError.invalidKey }
        let record = try await users.key(prefix: prefix)
        // Hash and compare even when no record matched, so timing says nothing about which keys exist.
        let matches = APIKeyMaterial.matches(key, storedHash: record?.hash ?? String(repeating: "0", count: 64))
        guard let record, matches else { throw APIError.invalidKey }
        return try await identity(of: record, session: nil)
    }

    /// The identity of a dashboard session's cookie token.
    func identity(sessionToken token: String, sessions: SessionRepository) async throws -> Identity {
        guard let session = try await sessions.find(token: token), let record = try await users.key(id: session.keyId) else {
            throw APIError.sessionExpired
        }
        do {
            return try await identity(of: record, session: session)
        } catch let error as APIError where error.code == APIError.invalidKey.code {
            throw APIError.sessionExpired
        }
    }

    func identity(of record: APIKeyRecord, session: SessionRecord?) async throws -> Identity {
        guard record.revokedAt == nil, let user = try await users.find(id: record.userId) else { throw APIError.invalidKey }
        if (record.lastUsedAt.map { Date().timeIntervalSince($0) > 60 }) ?? true {
            try? await users.touchKey(id: record.id)
        }
        return Identity(user: user, keyId: record.id, keyPrefix: record.prefix, defaultWebhookURL: record.webhookURL, session: session)
    }
}
