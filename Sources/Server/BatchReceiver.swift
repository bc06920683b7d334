import Crypto
import Hummingbird
import NIOCore
import Services
import Telemetry
import WhisperAPICore

/// Reads a batch submission into a `BatchAudioSink`: a multipart body with any number of `file` parts (also named
/// `files`, `file[]` or `files[]`) and `audio_url` fields, or a JSON body whose `audio_urls` (or `audio_url`) lists
/// URLs; the other fields are the options every item shares. Files are stored as they stream in; URLs are downloaded
/// after the body, in order. Each item is sniffed and held to the plan's size limit like a single upload.
struct BatchReceiver {
    let fetcher: AudioURLFetcher
    let maxFieldBytes = 64 * 1024
    static let fileFields: Set<String> = ["file", "files", "file[]", "files[]"]
    static let urlFields = ["audio_url", "audio_urls", "audio_url[]", "audio_urls[]"]

    /// Reads the request; returns the shared options and, when the request carries an `Idempotency-Key`, a
    /// fingerprint over every item's audio and the fields.
    func receive(_ request: Request, into sink: BatchAudioSink) async throws -> (request: SubmitRequest, fingerprint: String?) {
        var files = Files(sink: sink, hashing: request.idempotencyKey != nil)
        var fields: [String: [String]]
        if let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") {
            fields = try await UploadReceiver.jsonFields(request, limit: maxFieldBytes)
        } else {
            fields = try await MultipartFormReader(fileFields: Self.fileFields, maxFieldBytes: maxFieldBytes).read(request, files: &files)
        }
        let urls = Self.urlFields.flatMap { fields.removeValue(forKey: $0) ?? [] }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        for url in urls {
            var intake = AudioIntake(writer: try await sink.begin(), maxBytes: sink.maxFileBytes, hashing: files.hashing)
            let filename = try await fetcher.fetch(url, into: &intake)
            try await files.ended(intake, filename: filename)
        }
        let options = fields.joinedValues
        let fingerprint = files.hashing
            ? UploadReceiver.fingerprint(audio: (files.digests + urls).joined(separator: "\n"), fields: options) : nil
        return (SubmitRequest(fields: options), fingerprint)
    }

    /// The batch's file parts, each written through its own intake.
    private struct Files: FormFileHandler {
        let sink: BatchAudioSink
        let hashing: Bool
        var current: AudioIntake?
        var filename: String?
        /// Each item's SHA-256, in order (when hashing).
        var digests: [String] = []

        init(sink: BatchAudioSink, hashing: Bool) {
            self.sink = sink
            self.hashing = hashing
        }

        mutating func begin(filename: String) async throws {
            current = AudioIntake(writer: try await sink.begin(), maxBytes: sink.maxFileBytes, hashing: hashing)
            self.filename = filename.isEmpty ? nil : filename
        }

        mutating func append(_ bytes: ByteBufferView) async throws {
            try await current?.append(bytes)
        }

        mutating func end() async throws {
            guard var intake = current else { return }
            current = nil
            try await intake.finish()
            RequestMetrics.uploaded(bytes: Int(intake.size))
            try await ended(intake, filename: filename)
        }

        /// An item's audio is complete (a file part, or a downloaded URL).
        mutating func ended(_ intake: AudioIntake, filename: String?) async throws {
            if let digest = intake.digest { digests.append(digest) }
            try await sink.end(ReceivedAudio(size: intake.size, filename: filename))
        }
    }
}
