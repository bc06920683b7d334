import Foundation

/// Options for adding a job, written to the job hash's `opts` exactly as Python `bullmq` does.
public struct JobOptions: Sendable, Equatable {
    /// Lower numbers run first; 0 means no priority (served before any prioritized job). At most 2^21.
    public var priority: Int = 0
    /// Milliseconds before the job may run.
    public var delay: Int = 0
    /// Attempts in all (0 or 1: no retry).
    public var attempts: Int = 0
    public var backoff: Backoff?
    public var removeOnComplete: KeepJobs?
    public var removeOnFail: KeepJobs?
    /// A custom id; integer-looking ids are refused (they would collide with the counter).
    public var jobId: String?
    /// Add to the front of the queue.
    public var lifo = false
    /// Creation time in ms (default: now).
    public var timestamp: Int64?

    public init(
        priority: Int = 0, delay: Int = 0, attempts: Int = 0, backoff: Backoff? = nil, removeOnComplete: KeepJobs? = nil,
        removeOnFail: KeepJobs? = nil, jobId: String? = nil, lifo: Bool = false, timestamp: Int64? = nil
    ) {
        self.priority = priority
        self.delay = delay
        self.attempts = attempts
        self.backoff = backoff
        self.removeOnComplete = removeOnComplete
        self.removeOnFail = removeOnFail
        self.jobId = jobId
        self.lifo = lifo
        self.timestamp = timestamp
    }

    /// How long to wait before a retry.
    public enum Backoff: Sendable, Equatable {
        case fixed(milliseconds: Int)
        case exponential(milliseconds: Int)

        /// The delay before the next attempt after `attemptsMade` attempts (including the failed one).
        public func delay(afterAttempts attemptsMade: Int) -> Int {
            switch self {
            case .fixed(let ms): ms
            case .exponential(let ms): Int((pow(2, Double(max(0, attemptsMade - 1))) * Double(ms)).rounded())
            }
        }
    }

    /// Which finished jobs to keep.
    public enum KeepJobs: Sendable, Equatable {
        /// `true`: remove at once.
        case remove
        /// Keep the newest `count`.
        case count(Int)
        /// Keep those younger than `age` seconds (and at most `count`, when given).
        case age(seconds: Int, count: Int?)

        /// The (count, age) pair the finishing script takes; count -1 keeps all.
        var scriptArguments: (count: Int, age: Int?) {
            switch self {
            case .remove: (0, nil)
            case .count(let count): (count, nil)
            case .age(let seconds, let count): (count ?? -1, seconds)
            }
        }
    }

    /// The `opts` JSON object (built by hand: this runs on every add).
    var json: String {
        var fields = ["\"attempts\":\(attempts)", "\"delay\":\(delay)"]
        if priority > 0 { fields.append("\"priority\":\(priority)") }
        if let backoff {
            switch backoff {
            case .fixed(let ms): fields.append("\"backoff\":{\"delay\":\(ms),\"type\":\"fixed\"}")
            case .exponential(let ms): fields.append("\"backoff\":{\"delay\":\(ms),\"type\":\"exponential\"}")
            }
        }
        if let removeOnComplete { fields.append("\"removeOnComplete\":\(Self.encode(removeOnComplete))") }
        if let removeOnFail { fields.append("\"removeOnFail\":\(Self.encode(removeOnFail))") }
        if let jobId { fields.append("\"jobId\":\(Self.quote(jobId))") }
        if lifo { fields.append("\"lifo\":true") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func encode(_ keep: KeepJobs) -> String {
        switch keep {
        case .remove: "true"
        case .count(let count): String(count)
        case .age(let seconds, let count): count.map { "{\"age\":\(seconds),\"count\":\($0)}" } ?? "{\"age\":\(seconds)}"
        }
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads options written by any producer (Python, Node or this library).
    public init(json: String) {
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) else { return }
        priority = object["priority"]?.int ?? 0
        delay = object["delay"]?.int ?? 0
        attempts = object["attempts"]?.int ?? 0
        jobId = object["jobId"]?.string
        lifo = object["lifo"] == .bool(true)
        switch object["backoff"] {
        case .number(let ms)?:
            backoff = .fixed(milliseconds: Int(ms))
        case .object(let spec)?:
            let ms = spec["delay"]?.int ?? 0
            backoff = spec["type"]?.string == "exponential" ? .exponential(milliseconds: ms) : .fixed(milliseconds: ms)
        default:
            backoff = nil
        }
        removeOnComplete = Self.decodeKeep(object["removeOnComplete"])
        removeOnFail = Self.decodeKeep(object["removeOnFail"])
    }

    static func decodeKeep(_ value: JSONValue?) -> KeepJobs? {
        switch value {
        case .bool(true)?: return .remove
        case .number(let count)?: return .count(Int(count))
        case .object(let spec)?:
            let count = spec["count"]?.int
            if let age = spec["age"]?.int { return .age(seconds: age, count: count) }
            return count.map { .count($0) }
        default: return nil
        }
    }
}

/// Any JSON value, keeping booleans and numbers apart.
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    var int: Int? { if case .number(let value) = self { Int(value) } else { nil } }
    var string: String? { if case .string(let value) = self { value } else { nil } }
}
