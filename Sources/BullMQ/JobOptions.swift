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
        guard case .object(let object)? = JSONValue(parsing: json) else { return }
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
enum JSONValue: Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    /// Parses JSON text; nil when it is not valid JSON. (Reading a job's options runs for every job a
    /// worker takes; Codable's type probing and JSONSerialization's bridging were its costliest steps.)
    init?(parsing text: String) {
        var parser = JSONTextParser(bytes: Array(text.utf8))
        guard let value = parser.value(), parser.atEnd() else { return nil }
        self = value
    }

    var int: Int? { if case .number(let value) = self { Int(value) } else { nil } }
    var string: String? { if case .string(let value) = self { value } else { nil } }
}

/// A small strict JSON parser producing `JSONValue`.
struct JSONTextParser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    mutating func atEnd() -> Bool {
        skipSpace()
        return index == bytes.count
    }

    mutating func literal(_ word: String, _ value: JSONValue) -> JSONValue? {
        let expected = Array(word.utf8)
        guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else { return nil }
        index += expected.count
        return value
    }

    mutating func value() -> JSONValue? {
        skipSpace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return number()
        }
    }

    mutating func object() -> JSONValue? {
        index += 1
        var members: [String: JSONValue] = [:]
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            guard let member = value() else { return nil }
            members[key] = member
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            guard bytes[index] == UInt8(ascii: "}") else { return nil }
            index += 1
            return .object(members)
        }
    }

    mutating func array() -> JSONValue? {
        index += 1
        var items: [JSONValue] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
            guard let item = value() else { return nil }
            items.append(item)
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            guard bytes[index] == UInt8(ascii: "]") else { return nil }
            index += 1
            return .array(items)
        }
    }

    mutating func string() -> String? {
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            guard byte == UInt8(ascii: "\\") else { out.append(byte); continue }
            guard index < bytes.count else { return nil }
            let escaped = bytes[index]
            index += 1
            var scalar = Unicode.Scalar(escaped)
            switch escaped {
            case UInt8(ascii: "n"): scalar = "\n"
            case UInt8(ascii: "t"): scalar = "\t"
            case UInt8(ascii: "r"): scalar = "\r"
            case UInt8(ascii: "b"): scalar = "\u{08}"
            case UInt8(ascii: "f"): scalar = "\u{0C}"
            case UInt8(ascii: "u"):
                guard var code = hex4() else { return nil }
                // A surrogate pair is two escapes.
                if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                   bytes[index + 1] == UInt8(ascii: "u")
                {
                    index += 2
                    guard let low = hex4() else { return nil }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low &- 0xDC00)
                }
                scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
            default: break
            }
            out += Array(String(scalar).utf8)
        }
        return nil
    }

    mutating func hex4() -> UInt32? {
        guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else { return nil }
        index += 4
        return code
    }

    mutating func number() -> JSONValue? {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) || [0x2B, 0x2D, 0x2E, 0x45, 0x65].contains(bytes[index]) {
            index += 1
        }
        guard index > start, let number = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else { return nil }
        return .number(number)
    }
}
