import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Services
import Telemetry
import WhisperAPICore

extension Request {
    /// The `Idempotency-Key` header, when the client sent one.
    var idempotencyKey: String? { headers[HTTPField.Name("Idempotency-Key")!] }
}

/// A submission's audio, streamed to storage from an upload's `file` part or from its `audio_url`, and its fields.
struct ReceivedUpload: Sendable {
    /// Text fields by name.
    var fields: [String: String]
    var filename: String?
    var size: Int64
    var container: AudioSniffer.Container
    /// SHA-256 over the audio and the fields (an `Idempotency-Key` compares requests by it); nil without such a key.
    var fingerprint: String?

    /// The audio as `Submission` takes it.
    var received: ReceivedAudio { ReceivedAudio(size: size, filename: filename, fingerprint: fingerprint) }
}

/// Reads a submission: a multipart body whose `file` part goes straight to storage as it arrives (never held in
/// memory), or, where a fetcher is given, a multipart or JSON body naming an `audio_url` that is downloaded to
/// storage instead. Either way the first bytes are sniffed and the size limit is enforced on the way.
struct UploadReceiver {
    let maxFileBytes: Int64
    /// Downloads `audio_url`s; nil where only uploads are taken (the OpenAI routes).
    var fetcher: AudioURLFetcher? = nil
    let maxFieldBytes = 64 * 1024

    /// Reads the whole body, writing the audio to `writer`. On any error the caller aborts the writer.
    func receive(_ request: Request, into writer: any ObjectWriter) async throws -> ReceivedUpload {
        // Only a request with an idempotency key is compared with another, so only its audio is hashed.
        var intake = AudioIntake(writer: writer, maxBytes: maxFileBytes, hashing: request.idempotencyKey != nil)
        var fields: [String: String]
        var filename: String?
        if fetcher != nil, let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") {
            fields = try await Self.jsonFields(request, limit: maxFieldBytes)
        } else {
            (fields, filename) = try await receiveMultipart(request, into: &intake)
        }
        switch (intake.size > 0 || filename != nil, fields["audio_url"], fetcher) {
        case (true, .some, .some):
            throw APIError(.badRequest, "send either a file or an audio_url, not both")
        case (false, .some(let url), .some(let fetcher)):
            filename = try await fetcher.fetch(url, into: &intake)
        case (false, _, _):
            throw APIError(.missingFile, fetcher == nil ? "the 'file' field is required" : "the 'file' field (or an 'audio_url') is required")
        default:
            try await intake.finish()
            RequestMetrics.uploaded(bytes: Int(intake.size))
        }
        return ReceivedUpload(
            fields: fields, filename: filename, size: intake.size, container: intake.container ?? .wav,
            fingerprint: intake.digest.map { Self.fingerprint(audio: $0, fields: fields) })
    }

    /// SHA-256 (hex) over the audio's digest and the fields, sorted by name.
    static func fingerprint(audio: String, fields: [String: String]) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(audio.utf8))
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            // Lengths first, so that no two different field lists hash the same bytes.
            hasher.update(data: Array("\(name.utf8.count):\(name)\(value.utf8.count):\(value)".utf8))
        }
        return Array(hasher.finalize()).hexString
    }

    /// A multipart body's fields, its file part written through `intake`, and the file's name (nil: no file part).
    private func receiveMultipart(_ request: Request, into intake: inout AudioIntake) async throws -> (fields: [String: String], filename: String?) {
        guard let contentType = request.headers[.contentType], let boundary = Self.boundary(of: contentType) else {
            throw APIError(.invalidMultipart, "the body must be multipart/form-data with a boundary")
        }
        if let length = request.headers[.contentLength].flatMap(Int64.init), length > maxFileBytes + 1_048_576 {
            throw AudioIntake.tooLarge(maxFileBytes)
        }
        var parser = MultipartStreamParser(boundary: boundary)
        var fields: [String: String] = [:]
        var filename: String?
        var part = PartState()
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
                    part = PartState()
                    let disposition = headers["content-disposition"]
                    part.name = Self.dispositionValue("name", in: disposition)
                    if part.name == "file" {
                        guard !sawFile else { throw APIError(.invalidMultipart, "only one file may be uploaded") }
                        sawFile = true
                        part.isFile = true
                        filename = Self.dispositionValue("filename", in: disposition) ?? ""
                    }
                case .body(let buffer):
                    if part.isFile {
                        try await intake.append(buffer.readableBytesView)
                    } else {
                        part.value.append(contentsOf: buffer.readableBytesView)
                        if part.value.count > maxFieldBytes {
                            throw APIError(.fieldTooLarge, "form field '\(part.name ?? "")' is too large")
                        }
                    }
                case .partEnd:
                    if !part.isFile, let name = part.name {
                        // A repeated field (OpenAI's `timestamp_granularities[]`) keeps every value, comma-separated.
                        let value = String(decoding: part.value, as: UTF8.self)
                        fields[name] = fields[name].map { "\($0),\(value)" } ?? value
                    }
                }
            }
        }
        guard parser.isComplete else {
            throw APIError(.invalidMultipart, "the multipart body ended before its closing boundary")
        }
        if sawFile, intake.size == 0 { throw APIError(.emptyFile, "the uploaded file is empty") }
        return (fields, filename.map { $0.isEmpty ? nil : $0 } ?? nil)
    }

    /// A JSON object's members as fields (`{"audio_url": "…", "model": "base", "word_timestamps": true}`).
    static func jsonFields(_ request: Request, limit: Int) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: limit)
        guard let object = try? JSONDecoder().decode([String: JSONScalar].self, from: Data(body.readableBytesView)) else {
            throw APIError(.invalidBody, "the body must be a JSON object of strings, numbers and booleans, such as {\"audio_url\": \"https://…\"}")
        }
        return object.mapValues(\.text)
    }

    /// A JSON string, number or boolean, as the text a form field would carry.
    struct JSONScalar: Decodable {
        let text: String

        init(from decoder: any Decoder) throws {
            let value = try decoder.singleValueContainer()
            if let flag = try? value.decode(Bool.self) {
                text = flag ? "true" : "false"
            } else if let number = try? value.decode(Double.self) {
                text = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            } else {
                text = try value.decode(String.self)
            }
        }
    }

    /// One part being read.
    private struct PartState {
        var name: String?
        var isFile = false
        var value: [UInt8] = []
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
