import Foundation
import HTTPTypes
import Hummingbird
import WhisperAPICore

/// Counts each authenticated request against its key's rate limit; sets `RateLimit-Limit`,
/// `RateLimit-Remaining` and `RateLimit-Reset` on every answer, and refuses with 429 `RATE_LIMITED`
/// (and `Retry-After`) over the limit.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limiter: any RateLimiter
    let policy: PlanPolicy

    static let limitHeader = HTTPField.Name("RateLimit-Limit")!
    static let remainingHeader = HTTPField.Name("RateLimit-Remaining")!
    static let resetHeader = HTTPField.Name("RateLimit-Reset")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let identity = try context.requireIdentity()
        let limits = policy.limits(for: identity.user.plan)
        let decision = try await limiter.hit("key:\(identity.keyId.lowercasedString)", limit: limits.requestsPerWindow, window: policy.rateWindow)
        let reset = String(Int((Double(decision.resetAfter.wholeMilliseconds) / 1000).rounded(.up)))
        let headers: HTTPFields = [
            Self.limitHeader: String(decision.limit), Self.remainingHeader: String(decision.remaining), Self.resetHeader: reset,
        ]
        guard decision.allowed else {
            var error = APIError(.rateLimited, "this key may make \(decision.limit) requests per \(Int(policy.rateWindow.inSeconds)) s on the \(identity.user.plan.rawValue) plan")
            error.add(headers)
            error.headers["Retry-After"] = reset
            throw error
        }
        do {
            var response = try await next(request, context)
            for field in headers { response.headers[field.name] = field.value }
            return response
        } catch var error as APIError {
            error.add(headers)
            throw error
        }
    }
}
