import Foundation
import Hummingbird
import Services
import WhisperAPICore

/// `GET /api/v1/usage`: the caller's metered audio this month and what is left of the plan's quota.
struct UsageRoutes {
    let administration: AdminActions

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("usage") { _, context in
            Success(try await administration.usage(of: try context.requireIdentity().user))
        }
    }
}
