import Foundation
import HTTPTypes
import Hummingbird
import Persistence
import WhisperAPICore

/// Authenticates every protected route: `Authorization: Bearer <key>` (checked against the stored hash in constant
/// time) or the dashboard's session cookie. A cookie request that changes state must also carry the session's
/// CSRF token and, when the browser names one, come from this server's own origin.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let users: UserRepository
    let sessions: SessionRepository
    /// Bearer keys checked recently.
    let identities: IdentityCache
    /// `PUBLIC_URL`: pages served through a proxy send its origin.
    let publicURL: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization], !header.isEmpty {
            let authenticator = KeyAuthenticator(users: users)
            context.identity = try await identities.identity(key: try KeyAuthenticator.bearerKey(header)) { try await authenticator.identity(key: $0) }
        } else if let token = request.cookies[SessionCookie.name]?.value, !token.isEmpty {
            let identity = try await KeyAuthenticator(users: users).identity(sessionToken: token, sessions: sessions)
            if !SessionCookie.isSafe(request.method) {
                try CrossSiteCheck.sameOrigin(request, publicURL: publicURL)
                try CrossSiteCheck.csrfToken(request, expected: identity.session?.csrfToken ?? "")
            }
            context.identity = identity
        } else {
            throw APIError.missingKey
        }
        if let identity = context.identity {
            let userId = identity.user.id.lowercasedString
            context.logger[metadataKey: "userId"] = .string(userId)
            context.caller.id = userId
        }
        return try await next(request, context)
    }
}

extension APIError {
    static let sessionExpired = APIError(.sessionExpired, "the session has ended or its key was revoked; sign in again")
    static let crossSite = APIError(.crossSiteRequest, "requests from other sites are refused")
}
