import Foundation
import Persistence
import WhisperAPICore

/// The plan checks a submit passes: the monthly quota and the concurrent-job limit, each refused with
/// a 429, its own code and a `Retry-After`.
struct PlanEnforcement: Sendable {
    let transcriptions: TranscriptionRepository
    let usage: UsageRepository

    /// 429 `QUOTA_EXCEEDED` once the month's audio minutes are used up; retry when the next month starts.
    func checkQuota(_ user: User, limits: PlanLimits, now: Date = Date()) async throws {
        guard let minutes = limits.monthlyAudioMinutes else { return }
        let period = UsagePeriod(containing: now)
        let used = try await usage.totals(userId: user.id, period: period)
        guard used.audioSeconds >= Double(minutes) * 60 else { return }
        var error = APIError(.quotaExceeded, "the \(user.plan.rawValue) plan's \(minutes) audio minutes for \(period) are used up")
        error.headers["Retry-After"] = String(Int(max(1, period.end.timeIntervalSince(now).rounded(.up))))
        throw error
    }

    /// 429 `TOO_MANY_CONCURRENT_JOBS` (or 422 `BATCH_TOO_LARGE`, see `concurrencyRefusal`) when `adding` more
    /// transcriptions would pass the plan's number queued or processing at once; returns how many are.
    @discardableResult
    func checkConcurrency(_ user: User, limits: PlanLimits, adding: Int = 1) async throws -> Int {
        let active = try await transcriptions.activeCount(owner: user.id)
        if let refusal = Self.concurrencyRefusal(plan: user.plan, limits: limits, active: active, adding: adding) { throw refusal }
        return active
    }

    /// Why `adding` transcriptions (a batch of at least that many) cannot join the `active` ones, or nil when they fit:
    /// 422 `BATCH_TOO_LARGE` for a batch the plan could never run at once, else 429 `TOO_MANY_CONCURRENT_JOBS`.
    static func concurrencyRefusal(plan: Plan, limits: PlanLimits, active: Int, adding: Int) -> APIError? {
        let most = limits.concurrentJobs
        let allows = "the \(plan.rawValue) plan allows \(most) queued or processing transcription(s) at once"
        if adding > 1, adding > most {
            return APIError(.batchTooLarge, "\(allows), so a batch may hold at most \(most) item(s); this one has at least \(adding)")
        }
        guard active + adding > most else { return nil }
        var error = adding == 1
            ? APIError(.tooManyConcurrentJobs, "\(allows); wait for one to finish")
            : APIError(.tooManyConcurrentJobs, "\(allows) and \(active) are; a batch of \(adding) or more must wait for some to finish")
        error.headers["Retry-After"] = "10"
        return error
    }
}
