import NIOCore

/// Parses RESP2 and RESP3 replies from a byte stream.
///
/// `parse` consumes one complete value from the buffer, or consumes nothing and returns nil
/// when more bytes are needed, so it can be fed network reads as they arrive.
public struct RESPParser: Sendable {
    /// The stream is not valid RESP.
    public struct ProtocolError: Error, Sendable, Equatable {
        public let reason: String
    }

    /// Deepest nesting accepted, against hostile input.
    static let maxDepth = 64

    public init() {}

    /// Reads one value; nil (and the buffer untouched) when it is incomplete.
    public mutating func parse(_ buffer: inout ByteBuffer) throws -> RESPValue? {
        var copy = buffer
        guard let value = try Self.value(&copy, depth: 0) else { return nil }
        buffer = copy
        return value
    }

    static func value(_ buffer: inout ByteBuffer, depth: Int) throws -> RESPValue? {
        guard depth < maxDepth else { throw ProtocolError(reason: "nesting too deep") }
        guard let marker = buffer.readInteger(as: UInt8.self) else { return nil }
        switch marker {
        case UInt8(ascii: "+"):
            return line(&buffer).map(RESPValue.simpleString)
        case UInt8(ascii: "-"):
            return line(&buffer).map(RESPValue.error)
        case UInt8(ascii: ":"):
            guard let text = line(&buffer) else { return nil }
            guard let number = Int64(text) else { throw ProtocolError(reason: "bad integer \(text)") }
            return .integer(number)
        case UInt8(ascii: "$"):
            guard let length = try count(&buffer) else { return nil }
            if length < 0 { return .bulkString(nil) }
            return try blob(&buffer, length: length).map { RESPValue.bulkString($0) }
        case UInt8(ascii: "*"):
            guard let length = try count(&buffer) else { return nil }
            if length < 0 { return .array(nil) }
            return try elements(&buffer, count: length, depth: depth).map { RESPValue.array($0) }
        case UInt8(ascii: "_"):
            return line(&buffer).map { _ in .null }
        case UInt8(ascii: ","):
            guard let text = line(&buffer) else { return nil }
            switch text {
            case "inf": return .double(.infinity)
            case "-inf": return .double(-.infinity)
            case "nan": return .double(.nan)
            default:
                guard let number = Double(text) else { throw ProtocolError(reason: "bad double \(text)") }
                return .double(number)
            }
        case UInt8(ascii: "#"):
            guard let text = line(&buffer) else { return nil }
            guard text == "t" || text == "f" else { throw ProtocolError(reason: "bad boolean \(text)") }
            return .boolean(text == "t")
        case UInt8(ascii: "("):
            return line(&buffer).map(RESPValue.bigNumber)
        case UInt8(ascii: "!"):
            guard let length = try count(&buffer) else { return nil }
            return try blob(&buffer, length: length).map { RESPValue.error(String(buffer: $0)) }
        case UInt8(ascii: "="):
            guard let length = try count(&buffer) else { return nil }
            guard let data = try blob(&buffer, length: length) else { return nil }
            // "txt:" format prefix, then the text.
            return .verbatimString(String(String(buffer: data).dropFirst(4)))
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let length = try count(&buffer) else { return nil }
            guard let flat = try elements(&buffer, count: length * 2, depth: depth) else { return nil }
            let pairs = stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }
            if marker == UInt8(ascii: "|") {
                // An attribute precedes the real reply; skip it.
                return try value(&buffer, depth: depth)
            }
            return .map(pairs)
        case UInt8(ascii: "~"):
            guard let length = try count(&buffer) else { return nil }
            return try elements(&buffer, count: length, depth: depth).map { RESPValue.set($0) }
        case UInt8(ascii: ">"):
            guard let length = try count(&buffer) else { return nil }
            return try elements(&buffer, count: length, depth: depth).map { RESPValue.push($0) }
        default:
            throw ProtocolError(reason: "unknown type byte \(marker)")
        }
    }

    /// A line up to CRLF, or nil when the CRLF has not arrived.
    static func line(_ buffer: inout ByteBuffer) -> String? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: UInt8(ascii: "\r")), cr + 1 < view.endIndex, view[cr + 1] == UInt8(ascii: "\n") else {
            return nil
        }
        let text = buffer.readString(length: cr - view.startIndex)
        buffer.moveReaderIndex(forwardBy: 2)
        return text
    }

    static func count(_ buffer: inout ByteBuffer) throws -> Int? {
        guard let text = line(&buffer) else { return nil }
        guard let number = Int(text), number >= -1 else { throw ProtocolError(reason: "bad length \(text)") }
        return number
    }

    static func blob(_ buffer: inout ByteBuffer, length: Int) throws -> ByteBuffer? {
        guard buffer.readableBytes >= length + 2 else { return nil }
        let data = buffer.readSlice(length: length)
        guard buffer.readString(length: 2) == "\r\n" else { throw ProtocolError(reason: "missing CRLF after bulk data") }
        return data
    }

    static func elements(_ buffer: inout ByteBuffer, count: Int, depth: Int) throws -> [RESPValue]? {
        var values: [RESPValue] = []
        values.reserveCapacity(min(count, 1024))
        for _ in 0..<count {
            guard let element = try value(&buffer, depth: depth + 1) else { return nil }
            values.append(element)
        }
        return values
    }
}

/// Writes commands as RESP arrays of bulk strings.
public enum RESPEncoder {
    /// Appends one command to `buffer`.
    public static func encode(_ arguments: [RESPArgument], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            switch argument {
            case .string(let text):
                buffer.writeString("$\(text.utf8.count)\r\n")
                buffer.writeString(text)
            case .bytes(let bytes):
                buffer.writeString("$\(bytes.readableBytes)\r\n")
                buffer.writeImmutableBuffer(bytes)
            }
            buffer.writeString("\r\n")
        }
    }
}

/// One argument of a command.
public enum RESPArgument: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case bytes(ByteBuffer)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .string(String(value)) }
}
