import Foundation
import Hummingbird
import WhisperAPICore

/// OpenAI's audio API, so the official SDKs work unchanged: `POST /v1/audio/transcriptions`,
/// `POST /v1/audio/translations` and `GET /v1/models`.
///
/// A request becomes a normal queued job with the caller's plan priority; the response waits for it
/// and answers in OpenAI's shapes and error envelope.
struct OpenAIRoutes {
    let backend: Backend
    let transcriptions: TranscriptionRoutes

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
        }
        struct List: Encodable {
            let object = "list"
            let data: [Model]
        }
        return JSONBody.response(.ok, List(data: Self.models.map { Model(id: $0) }))
    }

    func transcribe(_ request: Request, context: AppRequestContext, task: TranscriptionTask) async throws -> Response {
        let row = try await transcriptions.accept(request, context: context, maxFileBytes: backend.configuration.openAIMaxUploadBytes) { fields in
            var fields = fields
            // Streamed answers (Server-Sent Events) are not built yet: say so rather than answer in another shape.
            if fields["stream"].map({ ["true", "1"].contains($0.lowercased()) }) == true {
                throw APIError.badRequest("STREAM_UNSUPPORTED", "stream=true is not supported yet; omit it for the complete answer")
            }
            if (fields["timestamp_granularities[]"] ?? fields["timestamp_granularities"])?.contains("word") == true {
                fields["word_timestamps"] = "true"
            }
            if task == .translate {
                fields["task"] = TranscriptionTask.translate.rawValue
                // OpenAI translates with whisper-1; here that needs the multilingual model.
                if fields["model"] == nil || fields["model"] == "whisper-1" { fields["model"] = "base" }
            }
            return fields
        }
        let finished = try await waitForOutcome(row.id, owner: row.userId)
        switch finished.status {
        case .completed:
            guard let response = try await transcriptions.renderedResult(finished, as: finished.format) else {
                throw APIError(.internalServerError, "RESULT_MISSING", "the transcript could not be read")
            }
            return response
        default:
            let reason = finished.errorMessage ?? "the transcription was \(finished.status.rawValue.lowercased())"
            let code = String(reason.prefix { $0 != ":" })
            if ["INVALID_AUDIO", "UNSUPPORTED_TASK", "BAD_REQUEST"].contains(code) {
                throw APIError.badRequest(code, reason)
            }
            throw APIError(.internalServerError, code.isEmpty ? "TRANSCRIPTION_FAILED" : code, reason)
        }
    }

    /// Polls the row (kept current by the status sync, on whichever worker the job runs) until it ends.
    func waitForOutcome(_ id: UUID, owner: UUID) async throws -> Transcription {
        let deadline = ContinuousClock.now + backend.configuration.jobTimeout * 2
        while ContinuousClock.now < deadline {
            if let row = try await backend.transcriptions.find(id: id, owner: owner), row.status.isTerminal { return row }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw APIError(.gatewayTimeout, "TIMEOUT", "the transcription did not finish in time")
    }
}

/// Answers errors on the OpenAI routes in OpenAI's envelope: `{"error":{"message","type","param","code"}}`.
struct OpenAIErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    /// The form field each of our error codes is about.
    static let params = [
        "INVALID_MODEL": "model", "INVALID_FORMAT": "response_format", "INVALID_TASK": "model", "INVALID_LANGUAGE": "language",
        "INVALID_PROMPT": "prompt", "MISSING_FILE": "file", "EMPTY_FILE": "file", "FILE_TOO_LARGE": "file",
        "UNSUPPORTED_MEDIA_TYPE": "file", "INVALID_AUDIO": "file", "STREAM_UNSUPPORTED": "stream",
    ]

    struct Body: Encodable {
        struct Detail: Encodable {
            let message: String
            let type: String
            let param: String?
            let code: String
        }
        let error: Detail
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            var message = error.message
            if let allowed = error.allowed { message += " (allowed: \(allowed.joined(separator: ", ")))" }
            let type = error.status.code >= 500 ? "server_error" : "invalid_request_error"
            let body = Body(error: .init(message: message, type: type, param: Self.params[error.code], code: error.code.lowercased()))
            var response = JSONBody.response(error.status, body)
            for field in error.headers { response.headers.append(field) }
            return response
        }
    }
}
