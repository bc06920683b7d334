import Foundation
import Hummingbird
import Telemetry
import WhisperAPICore

/// A multipart upload whose file part has been streamed to storage.
struct ReceivedUpload: Sendable {
    /// Text fields by name.
    var fields: [String: String]
    var filename: String?
    var size: Int64
    var container: AudioSniffer.Container
}

/// Streams a multipart body: the `file` part goes straight to storage as it arrives
/// (never held in memory), its first bytes are sniffed, and the size limit is enforced on the way.
struct UploadReceiver {
    let maxFileBytes: Int64
    let maxFieldBytes = 64 * 1024

    /// Reads the whole body, writing the file to `writer`. On any error the caller aborts the writer.
    func receive(_ request: Request, into writer: any ObjectWriter) async throws -> ReceivedUpload {
        guard let contentType = request.headers[.contentType], let boundary = Self.boundary(of: contentType) else {
            throw APIError(.invalidMultipart, "the body must be multipart/form-data with a boundary")
        }
        if let length = request.headers[.contentLength].flatMap(Int64.init), length > maxFileBytes + 1_048_576 {
            throw Self.tooLarge(maxFileBytes)
        }
        var parser = MultipartStreamParser(boundary: boundary)
        var state = PartState()
        var upload = ReceivedUpload(fields: [:], filename: nil, size: 0, container: .wav)
        var sawFile = false
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
                    state = PartState()
                    let disposition = headers["content-disposition"]
                    state.name = Self.dispositionValue("name", in: disposition)
                    if state.name == "file" {
                        guard !sawFile else { throw APIError(.invalidMultipart, "only one file may be uploaded") }
                        sawFile = true
                        state.isFile = true
                        upload.filename = Self.dispositionValue("filename", in: disposition)
                    }
                case .body(let buffer):
                    if state.isFile {
                        try await writeFileBytes(buffer, state: &state, upload: &upload, writer: writer)
                    } else {
                        state.value.append(contentsOf: buffer.readableBytesView)
                        if state.value.count > maxFieldBytes {
                            throw APIError(.fieldTooLarge, "form field '\(state.name ?? "")' is too large")
                        }
                    }
                case .partEnd:
                    if state.isFile {
                        try await flushSniffBuffer(&state, upload: &upload, writer: writer)
                    } else if let name = state.name {
                        // A repeated field (OpenAI's `timestamp_granularities[]`) keeps every value, comma-separated.
                        let value = String(decoding: state.value, as: UTF8.self)
                        upload.fields[name] = upload.fields[name].map { "\($0),\(value)" } ?? value
                    }
                }
            }
        }
        guard parser.isComplete else {
            throw APIError(.invalidMultipart, "the multipart body ended before its closing boundary")
        }
        guard sawFile else { throw APIError(.missingFile, "the 'file' field is required") }
        guard upload.size > 0 else { throw APIError(.emptyFile, "the uploaded file is empty") }
        RequestMetrics.uploaded(bytes: Int(upload.size))
        return upload
    }

    /// One part being read.
    private struct PartState {
        var name: String?
        var isFile = false
        var value: [UInt8] = []
        /// File bytes held back until there are enough to sniff.
        var sniffBuffer: [UInt8] = []
        var sniffed = false
    }

    private func writeFileBytes(_ buffer: ByteBuffer, state: inout PartState, upload: inout ReceivedUpload, writer: any ObjectWriter) async throws {
        upload.size += Int64(buffer.readableBytes)
        if upload.size > maxFileBytes { throw Self.tooLarge(maxFileBytes) }
        if state.sniffed {
            try await writer.write(Array(buffer.readableBytesView))
        } else {
            state.sniffBuffer.append(contentsOf: buffer.readableBytesView)
            if state.sniffBuffer.count >= AudioSniffer.prefixLength {
                try await flushSniffBuffer(&state, upload: &upload, writer: writer)
            }
        }
    }

    private func flushSniffBuffer(_ state: inout PartState, upload: inout ReceivedUpload, writer: any ObjectWriter) async throws {
        guard !state.sniffed, !state.sniffBuffer.isEmpty else { return }
        guard let container = AudioSniffer.detect(state.sniffBuffer) else {
            throw APIError(.unsupportedMediaType, "the file is not a supported audio format",
                allowed: AudioSniffer.Container.allCases.map(\.rawValue))
        }
        upload.container = container
        state.sniffed = true
        try await writer.write(state.sniffBuffer)
        state.sniffBuffer = []
    }

    static func tooLarge(_ limit: Int64) -> APIError {
        APIError(.fileTooLarge, limit >= 1_048_576 ? "the file is larger than the \(limit / 1_048_576) MB limit" : "the file is larger than the \(limit) byte limit")
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
