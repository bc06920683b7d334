import Foundation
import HTTPTypes
import Hummingbird
import WhisperAPICore

/// The plan checks a submit passes: the monthly quota and the concurrent-job limit, each refused with
/// a 429, its own code and a `Retry-After`.
struct PlanEnforcement {
    let backend: Backend

    /// 429 `QUOTA_EXCEEDED` once the month's audio minutes are used up; retry when the next month starts.
    func checkQuota(_ user: User, limits: PlanLimits, now: Date = Date()) async throws {
        guard let minutes = limits.monthlyAudioMinutes else { return }
        let period = UsagePeriod(containing: now)
        let used = try await backend.usage.totals(userId: user.id, period: period)
        guard used.audioSeconds >= Double(minutes) * 60 else { return }
        var error = APIError(
            .tooManyRequests, "QUOTA_EXCEEDED",
            "the \(user.plan.rawValue) plan's \(minutes) audio minutes for \(period) are used up")
        error.headers[.retryAfter] = String(Int(max(1, period.end.timeIntervalSince(now).rounded(.up))))
        throw error
    }

    /// 429 `TOO_MANY_CONCURRENT_JOBS` while the plan's number of transcriptions are queued or processing.
    func checkConcurrency(_ user: User, limits: PlanLimits) async throws {
        let active = try await backend.transcriptions.activeCount(owner: user.id)
        guard active >= limits.concurrentJobs else { return }
        var error = APIError(
            .tooManyRequests, "TOO_MANY_CONCURRENT_JOBS",
            "the \(user.plan.rawValue) plan allows \(limits.concurrentJobs) queued or processing transcription(s) at once; wait for one to finish")
        error.headers[.retryAfter] = "10"
        throw error
    }
}

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
            var error = APIError(
                .tooManyRequests, "RATE_LIMITED",
                "this key may make \(decision.limit) requests per \(Int(policy.rateWindow.inSeconds)) s on the \(identity.user.plan.rawValue) plan")
            error.headers = headers
            error.headers[.retryAfter] = reset
            throw error
        }
        do {
            var response = try await next(request, context)
            for field in headers { response.headers[field.name] = field.value }
            return response
        } catch var error as APIError {
            for field in headers { error.headers[field.name] = field.value }
            throw error
        }
    }
}
