import Foundation

/// Where a job is in the queue.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case waiting
    case delayed
    case active
    case completed
    case failed
    case cancelled
}

/// A snapshot of one job, as `getJobStatus` returns it.
public struct JobStatus: Codable, Sendable, Equatable {
    public var id: String
    public var state: JobState
    public var priority: Int
    public var progress: Int
    public var attemptsMade: Int
    public var failedReason: String?
    public var returnValue: TranscriptionJobResult?
    public var data: TranscriptionJobData
    public var createdAt: Date
    public var processedAt: Date?
    public var finishedAt: Date?

    public init(
        id: String, state: JobState, priority: Int, progress: Int, attemptsMade: Int, failedReason: String?,
        returnValue: TranscriptionJobResult?, data: TranscriptionJobData, createdAt: Date, processedAt: Date?, finishedAt: Date?
    ) {
        self.id = id
        self.state = state
        self.priority = priority
        self.progress = progress
        self.attemptsMade = attemptsMade
        self.failedReason = failedReason
        self.returnValue = returnValue
        self.data = data
        self.createdAt = createdAt
        self.processedAt = processedAt
        self.finishedAt = finishedAt
    }
}

/// Job counts by state.
public struct QueueStats: Codable, Sendable, Equatable {
    public var waiting: Int
    public var active: Int
    public var completed: Int
    public var failed: Int
    public var delayed: Int
    public var cancelled: Int

    public init(waiting: Int = 0, active: Int = 0, completed: Int = 0, failed: Int = 0, delayed: Int = 0, cancelled: Int = 0) {
        self.waiting = waiting
        self.active = active
        self.completed = completed
        self.failed = failed
        self.delayed = delayed
        self.cancelled = cancelled
    }
}

/// Retry policy: `maxAttempts` tries in all, waiting `baseDelay * 2^(attempt-1)` between them.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseDelay: Duration

    public init(maxAttempts: Int, baseDelay: Duration) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
    }

    /// The wait before the next attempt after `attemptsMade` failures.
    public func delay(afterAttempts attemptsMade: Int) -> Duration {
        let exponent = max(0, min(attemptsMade - 1, 20))
        return baseDelay * (1 << exponent)
    }
}

/// A change in a job's life, read by the status sync in order.
public struct QueueEvent: Codable, Sendable, Equatable {
    /// What happened.
    public enum Kind: String, Codable, Sendable {
        case active
        case progress
        case completed
        case failed
        /// Back in the queue: a failed attempt to retry, a stalled job recovered, a released or retried job.
        case waiting
        case cancelled
        /// An event the status sync does not act on (kept so the log position still advances).
        case other
    }

    /// An opaque, increasing position in the event log; persisted by the status sync.
    public var cursor: String
    public var jobId: String
    public var kind: Kind
    public var progress: Int?
    /// With a progress event: the segment just transcribed.
    public var segment: ProgressSegment?
    public var returnValue: TranscriptionJobResult?
    public var failedReason: String?
    public var attemptsMade: Int?

    public init(
        cursor: String, jobId: String, kind: Kind, progress: Int? = nil, segment: ProgressSegment? = nil,
        returnValue: TranscriptionJobResult? = nil, failedReason: String? = nil, attemptsMade: Int? = nil
    ) {
        self.cursor = cursor
        self.jobId = jobId
        self.kind = kind
        self.progress = progress
        self.segment = segment
        self.returnValue = returnValue
        self.failedReason = failedReason
        self.attemptsMade = attemptsMade
    }
}

/// A segment of transcript a worker reports with its progress, so clients can follow the text as it is made.
public struct ProgressSegment: Codable, Sendable, Equatable {
    /// The segment's position in the transcript, from 0.
    public var id: Int
    public var text: String

    public init(id: Int, text: String) {
        self.id = id
        self.text = text
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The progress value workers store in the queue: `{"progress": n}`, with `"segment"` when there is one.
    /// Readers also accept a bare number (what other BullMQ producers send).
    public static func progressJSON(_ progress: Int, segment: ProgressSegment?) -> String {
        struct Value: Encodable {
            let progress: Int
            let segment: ProgressSegment?
        }
        let data = (try? encoder.encode(Value(progress: progress, segment: segment))) ?? Data("\(progress)".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a stored progress value: a number, or an object with a `progress` (or `pct`) number and
    /// an optional `segment`.
    public static func parseProgress(_ json: String?) -> (progress: Int?, segment: ProgressSegment?) {
        guard let json, let value = try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed]) else {
            return (nil, nil)
        }
        if let number = value as? NSNumber { return (number.intValue, nil) }
        guard let object = value as? [String: Any] else { return (nil, nil) }
        let progress = ((object["progress"] ?? object["pct"]) as? NSNumber)?.intValue
        var segment: ProgressSegment?
        if let item = object["segment"] as? [String: Any], let id = (item["id"] as? NSNumber)?.intValue, let text = item["text"] as? String {
            segment = ProgressSegment(id: id, text: text)
        }
        return (progress, segment)
    }
}

/// A job a worker holds under a lock until it completes, fails or loses the lock.
public struct LeasedJob: Sendable, Equatable {
    public var id: String
    public var data: TranscriptionJobData
    /// Proves ownership of the lock; every worker call must present it.
    public var token: String
    /// This attempt's number, starting at 1.
    public var attempt: Int
    /// The job's queue priority (its plan's, for jobs the service queued).
    public var priority: Int
    /// When the job was first queued, where the queue knows.
    public var enqueuedAt: Date?

    public init(id: String, data: TranscriptionJobData, token: String, attempt: Int, priority: Int = 0, enqueuedAt: Date? = nil) {
        self.id = id
        self.data = data
        self.token = token
        self.attempt = attempt
        self.priority = priority
        self.enqueuedAt = enqueuedAt
    }
}
