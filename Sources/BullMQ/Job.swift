import Foundation

/// A job as stored in its hash, decoded.
public struct Job: Sendable, Equatable {
    public var id: String
    public var name: String
    /// The job data as JSON text, exactly as the producer wrote it.
    public var data: String
    /// The options as JSON text.
    public var opts: String
    public var timestamp: Int64
    public var delay: Int64
    public var priority: Int
    /// Progress as JSON text (a number or an object), if reported.
    public var progress: String?
    /// The return value as JSON text, once completed.
    public var returnValue: String?
    public var failedReason: String?
    /// Stack traces as a JSON array, one entry per failed attempt.
    public var stacktrace: String?
    public var attemptsMade: Int
    public var attemptsStarted: Int
    public var stalledCounter: Int
    public var processedOn: Int64?
    public var finishedOn: Int64?
    /// A failure deferred by the stalled sweep: the job must fail when next taken.
    public var deferredFailure: String?

    /// Decodes a job hash (`HGETALL` fields).
    public init(id: String, hash: [String: String]) {
        func int(_ key: String) -> Int64? { hash[key].flatMap { Int64($0) } }
        self.id = id
        name = hash["name"] ?? ""
        data = hash["data"] ?? "{}"
        opts = hash["opts"] ?? "{}"
        timestamp = int("timestamp") ?? 0
        delay = int("delay") ?? 0
        priority = Int(int("priority") ?? 0)
        progress = hash["progress"]
        returnValue = hash["returnvalue"]
        failedReason = hash["failedReason"]
        stacktrace = hash["stacktrace"]
        attemptsMade = Int(int("atm") ?? int("attemptsMade") ?? 0)
        attemptsStarted = Int(int("ats") ?? 0)
        stalledCounter = Int(int("stc") ?? 0)
        processedOn = int("processedOn")
        finishedOn = int("finishedOn")
        deferredFailure = hash["defa"]
        options = JobOptions(json: opts)
    }

    /// The options, decoded once from `opts`.
    public let options: JobOptions

    /// The data decoded as `T`.
    public func decodeData<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(data.utf8))
    }
}

/// Where a job is.
public enum JobState: String, Sendable, CaseIterable {
    case completed, failed, delayed, prioritized, active, waiting
    case waitingChildren = "waiting-children"
    case unknown
}
