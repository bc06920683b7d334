import Foundation
import Hummingbird
import WhisperAPICore

/// `GET /api/v1/usage`: the caller's metered audio this month and what is left of the plan's quota.
struct UsageRoutes {
    let backend: Backend

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("usage") { _, context in
            try JSONBody.success(try await AdminActions(backend: backend).usage(of: try context.requireIdentity().user))
        }
    }
}
