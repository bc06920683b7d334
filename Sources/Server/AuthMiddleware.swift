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
    /// `PUBLIC_URL`: pages served through a proxy send its origin.
    let publicURL: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization], !header.isEmpty {
            context.identity = try await KeyAuthenticator(users: users).identity(authorization: header)
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
        return try await next(request, context)
    }
}

/// Turns presented credentials into the caller's identity: an API key, or a session opened with one. A revoked key
/// (and every session opened with it) is refused at once, on every API server: both are read from the database.
struct KeyAuthenticator {
    let users: UserRepository

    /// The identity of an `Authorization` header's bearer key.
    func identity(authorization header: String) async throws -> Identity {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.invalidKey }
        return try await identity(key: parts[1].trimmingCharacters(in: .whitespaces))
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

/// The dashboard's session cookie.
enum SessionCookie {
    static let name = "wapi_session"

    /// GET, HEAD and OPTIONS change nothing, so they need no CSRF token.
    static func isSafe(_ method: HTTPRequest.Method) -> Bool {
        method == .get || method == .head || method == .options
    }

    /// The cookie that carries a new session: HttpOnly, SameSite=Strict, `Secure` behind an https `PUBLIC_URL`,
    /// expiring with the session.
    static func set(token: String, lifetime: Duration, secure: Bool) -> Cookie {
        Cookie(name: name, value: token, maxAge: Int(lifetime.inSeconds), path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    /// The cookie that clears it (sign-out).
    static func clear(secure: Bool) -> Cookie {
        Cookie(name: name, value: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }
}

/// Refuses requests that a page of another site made a browser send (SameSite=Strict cookies are the first line).
enum CrossSiteCheck {
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    static let fetchSiteHeader = HTTPField.Name("Sec-Fetch-Site")!

    /// The browser says the request came from another site: its `Sec-Fetch-Site`, or an `Origin` that is neither the
    /// host the request was sent to nor `publicURL` (the address users reach the service at behind a proxy).
    static func sameOrigin(_ request: Request, publicURL: String?) throws {
        if let site = request.headers[fetchSiteHeader], site == "cross-site" || site == "same-site" {
            throw APIError.crossSite
        }
        if let origin = request.headers[.origin], origin != "null" {
            let allowed = [request.head.authority, publicURL.flatMap(authority(of:))].compactMap { $0?.lowercased() }
            guard let host = authority(of: origin), allowed.contains(host.lowercased()) else {
                throw APIError.crossSite
            }
        } else if request.headers[.origin] == "null" {
            throw APIError.crossSite
        }
    }

    /// `host[:port]` of a URL.
    static func authority(of url: String) -> String? {
        guard let components = URLComponents(string: url), let host = components.host else { return nil }
        return components.port.map { "\(host):\($0)" } ?? host
    }

    /// The session's CSRF token is in `X-CSRF-Token` (compared in constant time).
    static func csrfToken(_ request: Request, expected: String) throws {
        let presented = request.headers[csrfHeader] ?? ""
        guard !expected.isEmpty, APIKeyMaterial.constantTimeEqual(Array(presented.utf8), Array(expected.utf8)) else {
            throw APIError(.forbidden, "CSRF_TOKEN_INVALID", "this request needs the session's X-CSRF-Token header; reload the page")
        }
    }
}

extension APIError {
    static let sessionExpired = APIError(.unauthorized, "SESSION_EXPIRED", "the session has ended or its key was revoked; sign in again")
    static let crossSite = APIError(.forbidden, "CROSS_SITE_REQUEST", "requests from other sites are refused")
}
