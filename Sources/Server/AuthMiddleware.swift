import Foundation
import Hummingbird
import Persistence
import WhisperAPICore

/// Checks `Authorization: Bearer <key>` against the stored hash, in constant time.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let users: UserRepository

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], !header.isEmpty else { throw APIError.missingKey }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.invalidKey }
        let key = parts[1].trimmingCharacters(in: .whitespaces)
        guard let prefix = APIKeyMaterial.prefix(of: key) else { throw APIError.invalidKey }
        let record = try await users.key(prefix: prefix)
        // Hash and compare even when no record matched, so timing says nothing about which keys exist.
        let matches = APIKeyMaterial.matches(key, storedHash: record?.hash ?? String(repeating: "0", count: 64))
        guard let record, matches, record.revokedAt == nil, let user = try await users.find(id: record.userId) else {
            throw APIError.invalidKey
        }
        if (record.lastUsedAt.map { Date().timeIntervalSince($0) > 60 }) ?? true {
            try? await users.touchKey(id: record.id)
        }
        var context = context
        context.identity = Identity(user: user, keyId: record.id, defaultWebhookURL: record.webhookURL)
        return try await next(request, context)
    }
}
