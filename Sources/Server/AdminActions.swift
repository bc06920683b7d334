import Foundation
import WhisperAPICore

/// User and key administration shared by the CLI and, later, the admin API.
public struct AdminActions: Sendable {
    let backend: Backend

    public init(backend: Backend) {
        self.backend = backend
    }

    /// Why an admin action was refused.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// Creates a user; refuses a taken email.
    public func createUser(email: String, plan: Plan, isAdmin: Bool) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        guard email.contains("@"), email.count <= 254 else { throw Refusal(description: "'\(email)' is not an email address") }
        if try await backend.users.find(email: email) != nil {
            throw Refusal(description: "a user with email \(email) already exists")
        }
        return try await backend.users.create(User(email: email, plan: plan, isAdmin: isAdmin))
    }

    /// Creates a key for the user with this email; the plaintext is returned once and never stored. The record
    /// holds the key's webhook signing secret, also to be shown once.
    public func createKey(email: String, name: String?) async throws -> (key: String, record: APIKeyRecord) {
        guard let user = try await backend.users.find(email: email.lowercased()) else {
            throw Refusal(description: "no user with email \(email)")
        }
        return try await createKey(for: user, name: name)
    }

    func createKey(for user: User, name: String?) async throws -> (key: String, record: APIKeyRecord) {
        let generated = APIKeyMaterial.generate()
        let record = APIKeyRecord(
            userId: user.id, name: name, prefix: generated.prefix, hash: generated.hash, webhookSecret: APIKeyMaterial.generateWebhookSecret())
        try await backend.users.addKey(record)
        return (generated.plaintext, record)
    }

    /// Revokes the key with this display prefix.
    public func revokeKey(prefix: String) async throws {
        guard try await backend.users.revokeKey(prefix: prefix) else {
            throw Refusal(description: "no active key with prefix \(prefix)")
        }
    }

    /// On first start (no users at all), creates an admin and returns its key, to be shown once.
    ///
    /// Several API servers starting together on one database race here; the losers find the
    /// winner's admin and show nothing.
    public func bootstrapAdminIfNeeded() async throws -> (user: User, key: String)? {
        guard try await backend.users.count() == 0 else { return nil }
        let user: User
        do {
            user = try await createUser(email: backend.configuration.adminEmail, plan: .payg, isAdmin: true)
        } catch {
            if try await backend.users.find(email: backend.configuration.adminEmail.lowercased()) != nil { return nil }
            throw error
        }
        let (key, _) = try await createKey(for: user, name: "bootstrap")
        return (user, key)
    }
}
