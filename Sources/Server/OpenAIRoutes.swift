import Foundation
import Hummingbird
import NIOCore
import Persistence
import Services
import WhisperAPICore

/// OpenAI's audio API, so the official SDKs work unchanged: `POST /v1/audio/transcriptions`,
/// `POST /v1/audio/translations` and `GET /v1/models`.
///
/// A request becomes a normal queued job with the caller's plan priority; the response waits for it
/// and answers in OpenAI's shapes and error envelope, or with `stream=true` sends the text as it is
/// transcribed. A client that goes away before the answer is complete cancels its job.
struct OpenAIRoutes {
    let transcriptions: TranscriptionRepository
    let storage: any ObjectStorage
    let submission: Submission
    let jobControl: JobControl
    /// The largest upload (OpenAI's own limit is 25 MB; `OPENAI_MAX_UPLOAD_BYTES`).
    let maxUploadBytes: Int64
    /// How long a request waits for its job: twice the job timeout, so a retried job can still answer.
    let jobTimeout: Duration
    /// The engine this deployment's workers run (`WHISPER_ENGINE`), which `/v1/models` names.
    let engine: EngineKind

    /// Model names clients may send, as `/v1/models` lists them.
    static let models = ["whisper-1"] + WhisperModels.accepted.filter { $0 != "whisper-1" }

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("models", use: models)
        group.post("audio/transcriptions") { request, context in try await transcribe(request, context: context, task: .transcribe) }
        group.post("audio/translations") { request, context in try await transcribe(request, context: context, task: .translate) }
    }

    @Sendable func models(_ request: Request, context: AppRequestContext) async throws -> Response {
        struct Model: Encodable {
            let id: String
            let object = "model"
            let created = 0
            let owned_by = "whisperapi"
            let engine: String
        }
        struct List: Encodable {
            let object = "list"
            let data: [Model]
        }
        return try JSONBody.response(.ok, List(data: Self.models.map { Model(id: $0, engine: engine.rawValue) }))
    }

    func transcribe(_ request: Request, context: AppRequestContext, task: TranscriptionTask) async throws -> Response {
        let identity = try context.requireIdentity()
        let (row, stream) = try await submission.submit(by: identity, maxFileBytes: maxUploadBytes, idempotencyKey: request.idempotencyKey) { writer, limit in
            let upload = try await UploadReceiver(maxFileBytes: limit).receive(request, into: writer)
            return (try Self.submitRequest(upload.fields, task: task), upload.received, try Self.wantsStream(upload.fields))
        }
        context.logger.info("transcription queued", metadata: ["jobId": .string(row.jobId ?? "")])
        let jobControl = self.jobControl
        let watch = DisconnectWatch(channel: context.channel) {
            if let (cancelled, _) = try? await jobControl.cancel(row), cancelled {
                context.logger.info("client went away; job cancelled", metadata: ["transcriptionId": "\(row.id.lowercasedString)"])
            }
        }
        let updates = RowUpdates(
            row: row, repository: transcriptions, interval: .milliseconds(100), deadline: ContinuousClock.now + jobTimeout * 2)
        if stream { return streamText(updates, watch: watch) }
        var finished = row
        for try await value in updates { finished = value }
        watch.finish()
        guard finished.status.isTerminal else { throw Self.timeout }
        guard finished.status == .completed else { throw Self.failure(finished) }
        guard let response = try await StoredResults(storage: storage).rendered(finished, as: finished.format) else {
            throw APIError(.resultMissing, "the transcript could not be read")
        }
        return response
    }

    /// OpenAI's `timestamp_granularities[]` values (repeated fields arrive joined by commas); another is a 400.
    static func granularities(_ fields: [String: String]) throws -> Set<String> {
        let text = fields["timestamp_granularities[]"] ?? fields["timestamp_granularities"] ?? ""
        let values = Set(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        let allowed: Set<String> = ["word", "segment"]
        guard values.isSubset(of: allowed) else {
            throw APIError(.invalidTimestampGranularities, "timestamp_granularities[] must be word and/or segment, not '\(text)'", allowed: allowed.sorted())
        }
        return values
    }

    /// OpenAI's form fields as a submit request: `response_format`, `timestamp_granularities[]` (word timestamps), and
    /// for a translation the task (with `whisper-1` meaning the multilingual model, as OpenAI translates with it).
    static func submitRequest(_ fields: [String: String], task: TranscriptionTask) throws -> SubmitRequest {
        var submit = SubmitRequest(fields: fields)
        if try granularities(fields).contains("word") { submit.wordTimestamps = true }
        // `json` and `text` answer with the text alone: no segments to cut at sentences.
        submit.textOnly = ["json", "text"].contains(submit.format ?? "json")
        // OpenAI's `chunking_strategy` ("auto", or {"type": "server_vad", …}) is our VAD: speech only, on by default.
        if let strategy = fields["chunking_strategy"]?.trimmingCharacters(in: .whitespaces), !strategy.isEmpty {
            guard strategy == "auto" || strategy.contains("server_vad") else {
                throw APIError(.invalidChunkingStrategy, "chunking_strategy must be \"auto\" or a server_vad object", allowed: ["auto", "server_vad"])
            }
            submit.vadFilter = "true"
        }
        if task == .translate {
            submit.task = TranscriptionTask.translate.rawValue
            if submit.model == nil || submit.model == "whisper-1" { submit.model = "base" }
        }
        return submit
    }

    /// `stream` is a boolean.
    static func wantsStream(_ fields: [String: String]) throws -> Bool {
        guard let text = fields["stream"]?.lowercased(), !text.isEmpty else { return false }
        guard ["true", "false", "1", "0"].contains(text) else {
            throw APIError(.invalidStream, "stream must be true or false", allowed: ["true", "false"])
        }
        return text == "true" || text == "1"
    }

    static let timeout = APIError(.timeout, "the transcription did not finish in time")

    /// The error a request gets for a transcription that ended without a result.
    static func failure(_ row: Transcription) -> APIError {
        let reason = row.errorMessage ?? "the transcription was \(row.status.rawValue.lowercased())"
        guard let failure = TranscriptionFailure(reason: reason) else {
            return APIError(.transcriptionFailed, reason)
        }
        return APIError(.transcriptionFailure(failure), reason)
    }

    // MARK: - stream=true

    struct TextDelta: Encodable {
        let type = "transcript.text.delta"
        let delta: String
    }

    struct TextDone: Encodable {
        let type = "transcript.text.done"
        let text: String
    }

    /// What `text` adds to the `sent` text it continues; nil when nothing new (or it does not continue it).
    static func delta(from sent: String, to text: String?) -> String? {
        guard let text, text.count > sent.count, text.hasPrefix(sent) else { return nil }
        return String(text.dropFirst(sent.count))
    }

    /// Server-Sent Events as OpenAI sends them: `transcript.text.delta` for each transcribed segment (from
    /// the row's running transcript, whichever worker and API server), then `transcript.text.done` with
    /// the whole text; a failure ends the stream with OpenAI's error object.
    func streamText(_ updates: RowUpdates, watch: DisconnectWatch) -> Response {
        let results = StoredResults(storage: storage)
        let body = ResponseBody { writer in
            var sent = ""
            var current = updates.row
            var quietSince = ContinuousClock.now
            for try await value in updates {
                current = value
                if let delta = Self.delta(from: sent, to: value.partialText) {
                    try await writer.write(ServerSentEvents.frame(TextDelta(delta: delta)))
                    sent += delta
                    quietSince = .now
                } else if ContinuousClock.now - quietSince >= ServerSentEvents.keepAliveInterval {
                    try await writer.write(ServerSentEvents.keepAlive)
                    quietSince = .now
                }
            }
            watch.finish()
            if current.status == .completed, let result = try await results.transcript(of: current) {
                if let delta = Self.delta(from: sent, to: result.text) {
                    try await writer.write(ServerSentEvents.frame(TextDelta(delta: delta)))
                }
                try await writer.write(ServerSentEvents.frame(TextDone(text: result.text)))
            } else {
                let error = current.status.isTerminal ? Self.failure(current) : Self.timeout
                try await writer.write(ServerSentEvents.frame(OpenAIErrorMiddleware.body(for: error)))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvents.headers, body: body)
    }
}
