import Foundation
import Hummingbird
import Persistence
import Services
import WhisperAPICore

/// `/auth/session`: the dashboard signs in with an API key and gets an HttpOnly session cookie; the key itself never
/// reaches a page or browser storage. Bearer-key access to the API is unchanged.
struct SessionRoutes {
    let users: UserRepository
    let sessions: SessionRepository
    let configuration: ServiceConfiguration
    /// Whether some worker can diarize now: the upload page offers speaker labels only then.
    let diarization: any DiarizationCapability

    /// `POST` (sign in) needs no credentials; `GET` and `DELETE` go behind the auth middleware.
    func register(open: RouterGroup<AppRequestContext>, authenticated: RouterGroup<AppRequestContext>) {
        open.post("auth/session", use: signIn)
        authenticated.get("auth/session", use: current)
        authenticated.delete("auth/session", use: signOut)
    }

    struct SignIn: Decodable {
        let key: String
    }

    /// What a page needs to know about its session: who, the CSRF token for state-changing requests, the plan's limits.
    struct SessionDTO: Encodable, Sendable {
        struct Limits: Encodable, Sendable {
            let models: [String]
            let maxUploadBytes: Int64
            let concurrentJobs: Int
            let requestsPerMinute: Int
            let monthlyMinutes: Int?
        }
        /// What this deployment can do beyond transcription.
        struct Features: Encodable, Sendable {
            let diarization: Bool
        }
        let user: AdminRoutes.UserDTO
        let csrfToken: String
        let expiresAt: Date
        let keyPrefix: String
        let limits: Limits
        let features: Features
    }

    @Sendable func signIn(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Success<SessionDTO>> {
        try CrossSiteCheck.sameOrigin(request, publicURL: configuration.publicURL)
        let body = try await request.decodeJSON(SignIn.self, context: context, expected: #"{"key": "wapi_…"}"#)
        let key = body.key.trimmingCharacters(in: .whitespacesAndNewlines)
        let identity = try await KeyAuthenticator(users: users).identity(key: key)
        let lifetime = configuration.sessionLifetime
        let (token, session) = try await sessions.open(keyId: identity.keyId, userId: identity.user.id, lifetime: lifetime.inSeconds)
        let cookie = SessionCookie.set(token: token, lifetime: lifetime, secure: configuration.secureCookies)
        return EditedResponse(headers: [.setCookie: cookie.description, .cacheControl: "no-store"], response: Success(await describe(identity, session: session)))
    }

    @Sendable func current(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Success<SessionDTO>> {
        let identity = try context.requireIdentity()
        guard let session = identity.session else {
            throw APIError(.noSession, "this request has no dashboard session (it used a bearer key)")
        }
        return EditedResponse(headers: [.cacheControl: "no-store"], response: Success(await describe(identity, session: session)))
    }

    @Sendable func signOut(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Success<[String: Bool]>> {
        let identity = try context.requireIdentity()
        if let session = identity.session { try await sessions.close(id: session.id) }
        let cookie = SessionCookie.clear(secure: configuration.secureCookies)
        return EditedResponse(headers: [.setCookie: cookie.description], response: Success(["signedOut": true]))
    }

    func describe(_ identity: Identity, session: SessionRecord) async -> SessionDTO {
        let limits = configuration.planPolicy.limits(for: identity.user.plan)
        return SessionDTO(
            user: AdminRoutes.UserDTO(identity.user), csrfToken: session.csrfToken, expiresAt: session.expiresAt, keyPrefix: identity.keyPrefix,
            limits: .init(
                models: limits.models.filter { $0 != "whisper-1" }, maxUploadBytes: min(limits.maxUploadBytes, configuration.maxUploadBytes),
                concurrentJobs: limits.concurrentJobs, requestsPerMinute: limits.requestsPerWindow, monthlyMinutes: limits.monthlyAudioMinutes),
            features: .init(diarization: await diarization.available()))
    }
}
