import Foundation
import Hummingbird
import Services
import WhisperAPICore

/// Refuses callers whose user is not an admin: 403.
struct AdminOnlyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard try context.requireIdentity().user.isAdmin else { throw APIError.forbidden }
        return try await next(request, context)
    }
}

/// The admin API under `/api/v1/admin` (admin keys only): users, plans, keys, usage, the queue.
struct AdminRoutes {
    let actions: AdminActions

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("users", use: listUsers)
        group.post("users", use: createUser)
        group.get("users/:user", use: readUser)
        group.patch("users/:user", use: changePlan)
        group.get("users/:user/usage", use: usage)
        group.get("users/:user/keys", use: listKeys)
        group.post("users/:user/keys", use: createKey)
        group.delete("users/:user/data", use: deleteData)
        group.delete("keys/:prefix", use: revokeKey)
        group.get("queue", use: queueStats)
        group.post("queue/cleanup", use: cleanUp)
    }

    struct UserDTO: Encodable, Sendable {
        let id: String
        let email: String
        let plan: Plan
        let isAdmin: Bool
        let createdAt: Date

        init(_ user: User) {
            id = user.id.lowercasedString
            email = user.email
            plan = user.plan
            isAdmin = user.isAdmin
            createdAt = user.createdAt
        }
    }

    struct KeyDTO: Encodable, Sendable {
        let prefix: String
        let name: String?
        let createdAt: Date
        let lastUsedAt: Date?
        let revokedAt: Date?
        let webhookUrl: String?

        init(_ key: APIKeyRecord) {
            prefix = key.prefix
            name = key.name
            createdAt = key.createdAt
            lastUsedAt = key.lastUsedAt
            revokedAt = key.revokedAt
            webhookUrl = key.webhookURL
        }
    }

    struct NewKeyDTO: Encodable, Sendable {
        let prefix: String
        /// Shown once.
        let key: String
        /// Shown once.
        let webhookSecret: String
    }

    struct Items<T: Encodable & Sendable>: Encodable, Sendable {
        let items: [T]
    }

    /// The user named in the path (email or id), or 404.
    func user(_ context: AppRequestContext) async throws -> User {
        guard let reference = context.parameters.get("user"), let user = try? await actions.find(user: reference) else {
            throw APIError(.userNotFound, "no such user")
        }
        return user
    }

    static func plan(_ text: String) throws -> Plan {
        guard let plan = Plan(rawValue: text.uppercased()) else {
            throw APIError(.invalidPlan, "unknown plan '\(text)'", allowed: Plan.allCases.map(\.rawValue))
        }
        return plan
    }

    @Sendable func listUsers(_ request: Request, context: AppRequestContext) async throws -> Success<Items<UserDTO>> {
        Success(Items(items: try await actions.allUsers().map(UserDTO.init)))
    }

    @Sendable func createUser(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Success<UserDTO>> {
        struct Body: Decodable {
            let email: String
            let plan: String?
            let isAdmin: Bool?
        }
        let input = try await request.decodeJSON(Body.self, context: context, expected: #"{"email": "…", "plan": "FREE|PRO|PAYG", "isAdmin": false}"#)
        do {
            let user = try await actions.createUser(email: input.email, plan: try Self.plan(input.plan ?? "FREE"), isAdmin: input.isAdmin ?? false)
            return Success.with(.created, UserDTO(user))
        } catch let refusal as AdminActions.Refusal {
            switch refusal {
            case .invalidEmail: throw APIError(.invalidEmail, refusal.description)
            default: throw APIError(.emailTaken, refusal.description)
            }
        }
    }

    @Sendable func readUser(_ request: Request, context: AppRequestContext) async throws -> Success<UserDTO> {
        Success(UserDTO(try await user(context)))
    }

    @Sendable func changePlan(_ request: Request, context: AppRequestContext) async throws -> Success<UserDTO> {
        struct Body: Decodable {
            let plan: String
        }
        let target = try await user(context)
        let input = try await request.decodeJSON(Body.self, context: context, expected: #"{"plan": "FREE|PRO|PAYG"}"#)
        let updated = try await actions.setPlan(user: target.id.uuidString, plan: try Self.plan(input.plan))
        return Success(UserDTO(updated))
    }

    @Sendable func usage(_ request: Request, context: AppRequestContext) async throws -> Success<UsageReport> {
        Success(try await actions.usage(of: try await user(context)))
    }

    /// Deletes every transcription of the user, with its job, audio and result.
    @Sendable func deleteData(_ request: Request, context: AppRequestContext) async throws -> Success<[String: Int]> {
        Success(["deleted": try await actions.deleteData(of: try await user(context))])
    }

    @Sendable func listKeys(_ request: Request, context: AppRequestContext) async throws -> Success<Items<KeyDTO>> {
        Success(Items(items: try await actions.keys(of: try await user(context)).map(KeyDTO.init)))
    }

    @Sendable func createKey(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Success<NewKeyDTO>> {
        struct Body: Decodable {
            let name: String?
        }
        let target = try await user(context)
        let input = (try? await request.decode(as: Body.self, context: context)) ?? Body(name: nil)
        let (key, record) = try await actions.createKey(email: target.email, name: input.name.map { String($0.prefix(100)) })
        return Success.with(.created, NewKeyDTO(prefix: record.prefix, key: key, webhookSecret: record.webhookSecret ?? ""))
    }

    @Sendable func revokeKey(_ request: Request, context: AppRequestContext) async throws -> Success<[String: String]> {
        let prefix = context.parameters.get("prefix") ?? ""
        do {
            try await actions.revokeKey(prefix: prefix)
        } catch is AdminActions.Refusal {
            throw APIError(.keyNotFound, "no active key with prefix \(prefix)")
        }
        return Success(["revoked": prefix])
    }

    @Sendable func queueStats(_ request: Request, context: AppRequestContext) async throws -> Success<QueueStats> {
        Success(try await actions.queueStats())
    }

    @Sendable func cleanUp(_ request: Request, context: AppRequestContext) async throws -> Success<[String: Int]> {
        Success(["removed": try await actions.cleanUpQueue()])
    }
}
