import NIOCore

/// A reply from Redis, in either protocol version (RESP2 or RESP3).
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// A bulk string; nil is RESP2's null bulk string.
    case bulkString(ByteBuffer?)
    /// An array; nil is RESP2's null array.
    case array([RESPValue]?)
    /// RESP3 null.
    case null
    case double(Double)
    case boolean(Bool)
    case bigNumber(String)
    case verbatimString(String)
    case map([(RESPValue, RESPValue)])
    case set([RESPValue])
    /// An out-of-band push message (RESP3).
    case push([RESPValue])

    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case (.simpleString(let a), .simpleString(let b)), (.error(let a), .error(let b)),
             (.bigNumber(let a), .bigNumber(let b)), (.verbatimString(let a), .verbatimString(let b)):
            a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.bulkString(let a), .bulkString(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.null, .null): true
        case (.double(let a), .double(let b)): a == b || (a.isNaN && b.isNaN)
        case (.boolean(let a), .boolean(let b)): a == b
        case (.set(let a), .set(let b)), (.push(let a), .push(let b)): a == b
        case (.map(let a), .map(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }
}

// MARK: - Reading replies

extension RESPValue {
    /// Whether this is a null of either protocol.
    public var isNull: Bool {
        switch self {
        case .null, .bulkString(nil), .array(nil): true
        default: false
        }
    }

    /// The value as text, for string-like replies and integers.
    public var string: String? {
        switch self {
        case .simpleString(let text), .verbatimString(let text), .bigNumber(let text): text
        case .bulkString(let buffer?): String(buffer: buffer)
        case .integer(let value): String(value)
        case .double(let value): String(value)
        default: nil
        }
    }

    /// The value as an integer, for integer replies and numeric strings.
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .double(let value): Int64(exactly: value)
        default: string.flatMap { Int64($0) }
        }
    }

    /// The value as a double, for numbers and numeric strings (RESP3 doubles too).
    public var double: Double? {
        switch self {
        case .double(let value): value
        case .integer(let value): Double(value)
        default: string.flatMap { Double($0) }
        }
    }

    /// The elements of an array, set or push reply, or the flattened pairs of a map.
    public var array: [RESPValue]? {
        switch self {
        case .array(let values?), .set(let values), .push(let values): values
        case .map(let pairs): pairs.flatMap { [$0.0, $0.1] }
        default: nil
        }
    }

    /// A map reply, or a flat RESP2 array of alternating keys and values, as a dictionary of strings.
    public var stringMap: [String: String]? {
        guard let flat = array, flat.count % 2 == 0 else { return nil }
        var result: [String: String] = [:]
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let key = flat[index].string else { continue }
            result[key] = flat[index + 1].string
        }
        return result
    }
}

/// An error reply from Redis (`-ERR …`, `-NOSCRIPT …`).
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    /// The leading code, e.g. `NOSCRIPT`, `WRONGTYPE`, `ERR`.
    public var code: String { String(message.prefix { $0 != " " }) }
    public var description: String { "Redis error: \(message)" }
}
