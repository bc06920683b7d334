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

    /// 429 `TOO_MANY_CONCURRENT_JOBS` when `adding` more transcriptions would pass the plan's number queued or
    /// processing at once; 422 `BATCH_TOO_LARGE` when a batch of `adding` could never fit the plan.
    func checkConcurrency(_ user: User, limits: PlanLimits, adding: Int = 1) async throws {
        let plan = user.plan.rawValue
        if adding > 1, adding > limits.concurrentJobs {
            throw APIError(.batchTooLarge, "the \(plan) plan allows \(limits.concurrentJobs) queued or processing transcription(s) at once, so a batch may hold at most \(limits.concurrentJobs) item(s); this one has \(adding)")
        }
        let active = try await transcriptions.activeCount(owner: user.id)
        guard active + adding > limits.concurrentJobs else { return }
        var error = adding == 1
            ? APIError(.tooManyConcurrentJobs, "the \(plan) plan allows \(limits.concurrentJobs) queued or processing transcription(s) at once; wait for one to finish")
            : APIError(.tooManyConcurrentJobs, "the \(plan) plan allows \(limits.concurrentJobs) queued or processing transcription(s) at once and \(active) are; this batch of \(adding) must wait for some to finish")
        error.headers["Retry-After"] = "10"
        throw error
    }
}
