#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore

/// A streaming multipart/form-data parser: feed it body chunks as they arrive and it hands back
/// part boundaries and body slices without ever holding a whole part in memory.
///
/// Delimiters are found with `memchr`/`memcmp`, so large file parts pass through at memory speed.
struct MultipartStreamParser {
    /// What the parser found in the bytes fed so far.
    enum Event: Equatable {
        /// A part starts; header names are lowercased.
        case partBegin([String: String])
        /// Bytes of the current part's body, in order.
        case body(ByteBuffer)
        case partEnd
    }

    enum ParseError: Error {
        case malformed(String)
    }

    private enum State {
        case preamble, afterDelimiter, headers, body, done
    }

    private let delimiter: [UInt8]
    private let firstDelimiter: [UInt8]
    private var state = State.preamble
    private var pending = ByteBuffer()
    static let maxHeaderBytes = 16 * 1024

    init(boundary: String) {
        firstDelimiter = Array("--\(boundary)".utf8)
        delimiter = Array("\r\n--\(boundary)".utf8)
    }

    /// Whether the closing delimiter has been seen.
    var isComplete: Bool { state == .done }

    /// Consumes a chunk and returns the events it completes.
    mutating func feed(_ chunk: ByteBuffer) throws -> [Event] {
        var chunk = chunk
        pending.writeBuffer(&chunk)
        var events: [Event] = []
        while true {
            switch state {
            case .preamble:
                guard let index = Self.find(firstDelimiter, in: pending) else {
                    // Keep only what could still be the start of the first delimiter.
                    let keep = min(pending.readableBytes, firstDelimiter.count - 1)
                    pending.moveReaderIndex(forwardBy: pending.readableBytes - keep)
                    return events
                }
                pending.moveReaderIndex(forwardBy: index + firstDelimiter.count)
                state = .afterDelimiter
            case .afterDelimiter:
                guard pending.readableBytes >= 2, let marker = pending.readString(length: 2) else { return events }
                if marker == "--" {
                    state = .done
                    pending.clear()
                    return events
                }
                guard marker == "\r\n" else { throw ParseError.malformed("expected a line break after the boundary") }
                state = .headers
            case .headers:
                guard let end = Self.find(Array("\r\n\r\n".utf8), in: pending) else {
                    if pending.readableBytes > Self.maxHeaderBytes { throw ParseError.malformed("part headers are too large") }
                    return events
                }
                let text = pending.readString(length: end) ?? ""
                pending.moveReaderIndex(forwardBy: 4)
                events.append(.partBegin(Self.headers(text)))
                state = .body
            case .body:
                if let index = Self.find(delimiter, in: pending) {
                    if index > 0, let slice = pending.readSlice(length: index) { events.append(.body(slice)) }
                    pending.moveReaderIndex(forwardBy: delimiter.count)
                    events.append(.partEnd)
                    state = .afterDelimiter
                } else {
                    // Everything except a possible partial delimiter at the end is body.
                    let safe = pending.readableBytes - (delimiter.count - 1)
                    if safe > 0, let slice = pending.readSlice(length: safe) { events.append(.body(slice)) }
                    pending.discardReadBytes()
                    return events
                }
            case .done:
                pending.clear()
                return events
            }
        }
    }

    static func headers(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            result[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    /// The offset of `needle` in the readable bytes of `buffer` (memchr for the first byte, then memcmp).
    static func find(_ needle: [UInt8], in buffer: ByteBuffer) -> Int? {
        guard let first = needle.first else { return nil }
        return buffer.withUnsafeReadableBytes { haystack -> Int? in
            guard let base = haystack.baseAddress, haystack.count >= needle.count else { return nil }
            return needle.withUnsafeBytes { pattern -> Int? in
                guard let patternBase = pattern.baseAddress else { return nil }
                var offset = 0
                let lastStart = haystack.count - needle.count
                while offset <= lastStart {
                    guard let hit = memchr(base + offset, Int32(first), lastStart - offset + 1) else { return nil }
                    let index = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(hit, patternBase, needle.count) == 0 { return index }
                    offset = index + 1
                }
                return nil
            }
        }
    }
}
