import Crypto
import NIOCore
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
        var file = OneFile(intake: AudioIntake(writer: writer, maxBytes: maxFileBytes, hashing: request.idempotencyKey != nil))
        let fields: [String: String]
        if fetcher != nil, let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") {
            fields = try await Self.jsonFields(request, limit: maxFieldBytes).joinedValues
        } else {
            let reader = MultipartFormReader(fileFields: ["file"], maxFieldBytes: maxFieldBytes, maxFileBytes: maxFileBytes)
            fields = try await reader.read(request, files: &file).joinedValues
        }
        var filename = file.filename.map { $0.isEmpty ? nil : $0 } ?? nil
        switch (file.filename != nil, fields["audio_url"], fetcher) {
        case (true, .some, .some):
            throw APIError(.badRequest, "send either a file or an audio_url, not both")
        case (false, .some(let url), .some(let fetcher)):
            filename = try await fetcher.fetch(url, into: &file.intake)
        case (false, _, _):
            throw APIError(.missingFile, fetcher == nil ? "the 'file' field is required" : "the 'file' field (or an 'audio_url') is required")
        default:
            try await file.intake.finish()
            RequestMetrics.uploaded(bytes: Int(file.intake.size))
        }
        let intake = file.intake
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

    /// The one `file` part of a submission, written through its intake.
    private struct OneFile: FormFileHandler {
        var intake: AudioIntake
        /// The client's file name; nil while no file part came.
        var filename: String?

        mutating func begin(filename: String) async throws {
            guard self.filename == nil else { throw APIError(.invalidMultipart, "only one file may be uploaded") }
            self.filename = filename
        }

        mutating func append(_ bytes: ByteBufferView) async throws {
            try await intake.append(bytes)
        }

        mutating func end() async throws {
            if intake.size == 0 { throw APIError(.emptyFile, "the uploaded file is empty") }
        }
    }

    /// A JSON object's members as fields (`{"audio_url": "…", "model": "base", "word_timestamps": true}`); an array of
    /// such values gives a field every value (`{"audio_urls": ["…", "…"]}`).
    static func jsonFields(_ request: Request, limit: Int) async throws -> [String: [String]] {
        let body = try await request.body.collect(upTo: limit)
        guard let object = try? JSONDecoder().decode([String: JSONValues].self, from: Data(body.readableBytesView)) else {
            throw APIError(.invalidBody, "the body must be a JSON object of strings, numbers and booleans, such as {\"audio_url\": \"https://…\"}")
        }
        return object.mapValues(\.texts)
    }

    /// A JSON string, number or boolean, or an array of them, as the texts form fields would carry.
    struct JSONValues: Decodable {
        let texts: [String]

        init(from decoder: any Decoder) throws {
            if let many = try? [JSONScalar](from: decoder) {
                texts = many.map(\.text)
            } else {
                texts = [try JSONScalar(from: decoder).text]
            }
        }
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
}
