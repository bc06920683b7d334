import Foundation

/// What one plan may do.
public struct PlanLimits: Sendable, Equatable {
    /// Transcriptions queued or processing at once.
    public var concurrentJobs: Int
    /// Authenticated requests per key per rate window.
    public var requestsPerWindow: Int
    /// The largest upload.
    public var maxUploadBytes: Int64
    /// Audio minutes per calendar month (UTC); nil: unlimited, still metered.
    public var monthlyAudioMinutes: Int?
    /// Model names the plan may ask for (aliases such as `whisper-1` count as the model they mean).
    public var models: [String]
    /// The most jobs of this plan waiting in the queue before its submissions are refused (`QUEUE_FULL`); nil: no
    /// limit of its own.
    public var maxWaiting: Int?
    /// How long a finished transcription's audio is kept (`AUDIO_RETENTION_HOURS`, default 24 h); nil: forever.
    public var audioRetention: Duration? = .seconds(24 * 3600)
    /// How long its result is kept before it expires (`RESULT_RETENTION_DAYS`, default 30 days); nil: forever.
    public var resultRetention: Duration? = .seconds(30 * 24 * 3600)

    public init(
        concurrentJobs: Int, requestsPerWindow: Int, maxUploadBytes: Int64, monthlyAudioMinutes: Int?, models: [String], maxWaiting: Int? = nil
    ) {
        self.concurrentJobs = concurrentJobs
        self.requestsPerWindow = requestsPerWindow
        self.maxUploadBytes = maxUploadBytes
        self.monthlyAudioMinutes = monthlyAudioMinutes
        self.models = models
        self.maxWaiting = maxWaiting
    }

    /// Whether the plan may use a resolved model name.
    public func allows(model: String) -> Bool {
        models.contains { WhisperModels.resolve($0) == model }
    }
}

/// The plans' limits in one place: the seed's defaults, each overridable from the environment with
/// `PLAN_<FREE|PRO|PAYG>_<CONCURRENT_JOBS|REQUESTS_PER_MINUTE|MAX_FILE_SIZE|MONTHLY_MINUTES|MODELS|MAX_WAITING|
/// AUDIO_RETENTION_HOURS|RESULT_RETENTION_DAYS>`, and
/// the queue's own limit, `QUEUE_MAX_WAITING`.
public struct PlanPolicy: Sendable, Equatable {
    public var limits: [Plan: PlanLimits]
    /// The rate limit's window (`RATE_LIMIT_WINDOW_SECONDS`, default a minute).
    public var rateWindow: Duration
    /// The most jobs waiting in the queue, of every plan, before submissions are refused (`QUEUE_MAX_WAITING`); nil:
    /// no limit (the default).
    public var maxWaiting: Int?

    /// FREE 1 job / 30 requests a minute / 25 MB / 60 minutes a month / tiny.en; PRO 3 / 120 / 500 MB / 6000 /
    /// every model; PAYG 10 / 600 / 1 GB / unlimited (metered) / every model.
    public static let defaults = PlanPolicy(
        limits: [
            .free: PlanLimits(concurrentJobs: 1, requestsPerWindow: 30, maxUploadBytes: 25 * 1024 * 1024, monthlyAudioMinutes: 60, models: ["tiny.en"]),
            .pro: PlanLimits(concurrentJobs: 3, requestsPerWindow: 120, maxUploadBytes: 500 * 1024 * 1024, monthlyAudioMinutes: 6000, models: WhisperModels.accepted),
            .payg: PlanLimits(concurrentJobs: 10, requestsPerWindow: 600, maxUploadBytes: 1024 * 1024 * 1024, monthlyAudioMinutes: nil, models: WhisperModels.accepted),
        ],
        rateWindow: .seconds(60))

    public init(limits: [Plan: PlanLimits], rateWindow: Duration) {
        self.limits = limits
        self.rateWindow = rateWindow
    }

    /// The defaults with the environment's overrides. `MONTHLY_MINUTES` of `unlimited` (or a negative number)
    /// means no quota; `MODELS` is a comma-separated list. A value that cannot be used keeps the default and is
    /// described in `problems` (the configuration refuses to start with any).
    public init(environment: [String: String], problems: inout [String]) {
        var policy = Self.defaults
        for plan in Plan.allCases {
            let prefix = "PLAN_\(plan.rawValue)_"
            func value(_ name: String) -> String? {
                environment[prefix + name]?.trimmingCharacters(in: .whitespaces).nilIfEmpty
            }
            func positive(_ name: String) -> Int64? {
                guard let text = value(name) else { return nil }
                guard let number = Int64(text), number >= 1 else {
                    problems.append("\(prefix + name) must be a whole number from 1 to \(Int.max), not '\(text)'")
                    return nil
                }
                return number
            }
            var limits = policy.limits(for: plan)
            if let number = positive("CONCURRENT_JOBS") { limits.concurrentJobs = Int(number) }
            if let number = positive("REQUESTS_PER_MINUTE") { limits.requestsPerWindow = Int(number) }
            if let number = positive("MAX_FILE_SIZE") { limits.maxUploadBytes = number }
            if let number = positive("MAX_WAITING") { limits.maxWaiting = Int(number) }
            /// A retention in `unit` seconds (fractions allowed), or `forever`.
            func retention(_ name: String, unit: Double, into keep: inout Duration?) {
                guard let text = value(name) else { return }
                if text.lowercased() == "forever" {
                    keep = nil
                } else if let amount = Double(text), amount > 0, amount.isFinite {
                    keep = .milliseconds(Int64(amount * unit * 1000))
                } else {
                    problems.append("\(prefix + name) must be a number more than 0 or forever, not '\(text)'")
                }
            }
            retention("AUDIO_RETENTION_HOURS", unit: 3600, into: &limits.audioRetention)
            retention("RESULT_RETENTION_DAYS", unit: 86400, into: &limits.resultRetention)
            if let text = value("MONTHLY_MINUTES") {
                if text.lowercased() == "unlimited" {
                    limits.monthlyAudioMinutes = nil
                } else if let minutes = Int(text) {
                    limits.monthlyAudioMinutes = minutes < 0 ? nil : minutes
                } else {
                    problems.append("\(prefix)MONTHLY_MINUTES must be a whole number or unlimited, not '\(text)'")
                }
            }
            if let text = value("MODELS") {
                let named = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let unknown = named.filter { WhisperModels.resolve($0) == nil }
                if unknown.isEmpty, !named.isEmpty {
                    limits.models = named
                } else {
                    problems.append(
                        "\(prefix)MODELS names unknown models \(unknown.joined(separator: ", ")); known: \(WhisperModels.accepted.joined(separator: ", "))")
                }
            }
            policy.limits[plan] = limits
        }
        if let text = environment["RATE_LIMIT_WINDOW_SECONDS"]?.trimmingCharacters(in: .whitespaces).nilIfEmpty {
            if let seconds = Double(text), seconds > 0, seconds.isFinite {
                policy.rateWindow = .milliseconds(Int64(seconds * 1000))
            } else {
                problems.append("RATE_LIMIT_WINDOW_SECONDS must be a number of seconds more than 0, not '\(text)'")
            }
        }
        if let text = environment["QUEUE_MAX_WAITING"]?.trimmingCharacters(in: .whitespaces).nilIfEmpty {
            if let number = Int(text), number >= 0 {
                policy.maxWaiting = number == 0 ? nil : number
            } else {
                problems.append("QUEUE_MAX_WAITING must be a whole number (0: no limit), not '\(text)'")
            }
        }
        self = policy
    }

    /// The limits of `plan`.
    public func limits(for plan: Plan) -> PlanLimits {
        limits[plan] ?? Self.defaults.limits[plan]!
    }
}

/// A calendar month (UTC), the period usage and quotas count in.
public struct UsagePeriod: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    static var utc: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }

    /// The month `date` falls in.
    public init(containing date: Date) {
        let parts = Self.utc.dateComponents([.year, .month], from: date)
        year = parts.year ?? 1970
        month = parts.month ?? 1
    }

    /// `2026-11`.
    public var description: String { String(format: "%04d-%02d", year, month) }

    /// When the next month starts.
    public var end: Date {
        let start = Self.utc.date(from: DateComponents(year: year, month: month, day: 1)) ?? Date()
        return Self.utc.date(byAdding: .month, value: 1, to: start) ?? start
    }
}
