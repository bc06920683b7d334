import Foundation
import Hummingbird
import NIOCore
import WhisperAPICore

extension [String: [String]] {
    /// Each field's values as one text, comma-separated (how a single submit reads a repeated field).
    var joinedValues: [String: String] { mapValues { $0.joined(separator: ",") } }
}

/// What becomes of a form's file parts as they stream in.
protocol FormFileHandler {
    /// A file part begins, with the file name the client gave ("" when none).
    mutating func begin(filename: String) async throws
    /// The next bytes of the current file part.
    mutating func append(_ bytes: ByteBufferView) async throws
    /// The current file part is complete.
    mutating func end() async throws
}

/// Reads a multipart/form-data body as it streams: text fields are collected (a repeated field keeps every value, in
/// order, such as OpenAI's `timestamp_granularities[]` or a batch's `audio_url`s), and the parts named in `fileFields`
/// are handed to a `FormFileHandler` without being held in memory.
struct MultipartFormReader {
    /// The part names that carry files.
    let fileFields: Set<String>
    let maxFieldBytes: Int
    /// The largest file part: a body announced larger than it and a megabyte of fields is refused with 413 before it
    /// is read (nil: no such check).
    var maxFileBytes: Int64? = nil

    /// Every text field of the body; file parts go to `files`. 400 `INVALID_MULTIPART` for a body that is not
    /// multipart/form-data or does not end with its closing boundary.
    func read(_ request: Request, files: inout some FormFileHandler) async throws -> [String: [String]] {
        guard let contentType = request.headers[.contentType], let boundary = Self.boundary(of: contentType) else {
            throw APIError(.invalidMultipart, "the body must be multipart/form-data with a boundary")
        }
        if let maxFileBytes, let length = request.headers[.contentLength].flatMap(Int64.init), length > maxFileBytes + 1_048_576 {
            throw AudioIntake.tooLarge(maxFileBytes)
        }
        var parser = MultipartStreamParser(boundary: boundary)
        var fields: [String: [String]] = [:]
        var name: String?
        var isFile = false
        var value: [UInt8] = []
        for try await chunk in request.body {
            let events: [MultipartStreamParser.Event]
            do {
                events = try parser.feed(chunk)
            } catch {
                throw APIError(.invalidMultipart, "the multipart body is malformed")
            }
            for event in events {
                switch event {
                case .partBegin(let headers):
                    let disposition = headers["content-disposition"]
                    name = Self.dispositionValue("name", in: disposition)
                    isFile = name.map(fileFields.contains) ?? false
                    value = []
                    if isFile { try await files.begin(filename: Self.dispositionValue("filename", in: disposition) ?? "") }
                case .body(let buffer):
                    if isFile {
                        try await files.append(buffer.readableBytesView)
                    } else {
                        value.append(contentsOf: buffer.readableBytesView)
                        if value.count > maxFieldBytes {
                            throw APIError(.fieldTooLarge, "form field '\(name ?? "")' is too large")
                        }
                    }
                case .partEnd:
                    if isFile {
                        try await files.end()
                    } else if let name {
                        fields[name, default: []].append(String(decoding: value, as: UTF8.self))
                    }
                    isFile = false
                }
            }
        }
        guard parser.isComplete else {
            throw APIError(.invalidMultipart, "the multipart body ended before its closing boundary")
        }
        return fields
    }

    /// The boundary parameter of a multipart/form-data content type.
    static func boundary(of contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for part in parts.dropFirst() where part.lowercased().hasPrefix("boundary=") {
            let value = part.dropFirst("boundary=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return value.isEmpty ? nil : value
        }
        return nil
    }

    /// A parameter (`name`, `filename`) of a Content-Disposition header.
    static func dispositionValue(_ key: String, in header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let pieces = part.split(separator: "=", maxSplits: 1)
            if pieces.count == 2, pieces[0].lowercased() == key {
                return pieces[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }
}
