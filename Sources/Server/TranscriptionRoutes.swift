import Engine
import Foundation
import Hummingbird
import Persistence
import WhisperAPICore

/// The seed's REST API: submit, status, cancel, list, read and result.
struct TranscriptionRoutes {
    let backend: Backend

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("transcribe", use: submit)
        group.delete("transcribe/:id", use: cancel)
        group.post("transcriptions/:id/retry", use: retry)
        group.get("transcriptions/:id/events", use: events)
        group.get("status/:id", use: status)
        group.get("transcriptions", use: list)
        group.get("transcriptions/:id", use: read)
        group.get("transcriptions/:id/result", use: result)
        group.get("transcriptions/:id/audio", use: audio)
        group.get("events", use: UserEvents(backend: backend).stream)
    }

    // MARK: - Submit

    @Sendable func submit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (transcription, _) = try await accept(request, context: context, maxFileBytes: backend.configuration.maxUploadBytes)
        return JSONBody.success(
            SubmittedDTO(transcriptionId: transcription.id.lowercasedString, jobId: transcription.jobId ?? "", status: .queued),
            status: .accepted)
    }

    /// Streams the upload to storage, records the transcription and queues its job with the caller's plan
    /// priority, within the plan's limits. `adjust` may rewrite the form fields first (the OpenAI routes map
    /// their names). Returns the transcription and the form fields as adjusted.
    func accept(
        _ request: Request, context: AppRequestContext, maxFileBytes: Int64,
        adjust: @Sendable ([String: String]) throws -> [String: String] = { $0 }
    ) async throws -> (Transcription, fields: [String: String]) {
        let identity = try context.requireIdentity()
        let limits = backend.configuration.planPolicy.limits(for: identity.user.plan)
        let guardrails = PlanEnforcement(backend: backend)
        // Refused before the upload is read, so nothing is stored; checked again under the lock below.
        try await guardrails.checkQuota(identity.user, limits: limits)
        try await guardrails.checkConcurrency(identity.user, limits: limits)
        let id = UUID()
        let audioKey = StorageKeys.audio(user: identity.user.id, transcription: id)
        let writer = try await backend.storage.makeWriter(key: audioKey)
        let upload: ReceivedUpload
        let fields: [String: String]
        let options: SubmitOptions
        do {
            upload = try await UploadReceiver(maxFileBytes: min(maxFileBytes, limits.maxUploadBytes)).receive(request, into: writer)
            fields = try adjust(upload.fields)
            options = try SubmitOptions(fields: fields)
            guard limits.allows(model: options.model) else {
                throw APIError(.forbidden, "MODEL_NOT_IN_PLAN", "the \(identity.user.plan.rawValue) plan cannot use model '\(options.model)'", allowed: limits.models)
            }
            if let url = options.webhookURL { try await WebhookRoutes.checkTarget(url, backend: backend) }
            try await writer.finish()
        } catch {
            await writer.abort()
            throw error
        }
        let transcription = Transcription(
            id: id, userId: identity.user.id, jobId: id.lowercasedString, audioKey: audioKey,
            model: options.model, format: options.format, language: options.language, task: options.task,
            prompt: options.prompt, originalFilename: upload.filename.map { String($0.prefix(255)) }, fileSize: upload.size,
            apiKeyId: identity.keyId, webhookURL: options.webhookURL ?? identity.defaultWebhookURL)
        let data = TranscriptionJobData(
            transcriptionId: transcription.id.uuidString.lowercased(), userId: identity.user.id.uuidString.lowercased(),
            s3AudioUrl: audioKey, model: options.model, format: options.format.rawValue, language: options.language,
            task: options.task.rawValue, prompt: options.prompt, wordTimestamps: options.wordTimestamps)
        let backend = self.backend
        let logger = context.logger
        do {
            // The count and the enqueue are one step per user, on every API server: two submits at once
            // cannot both see a free slot.
            try await backend.locks.withLock("submit:\(identity.user.id.lowercasedString)") {
                try await guardrails.checkConcurrency(identity.user, limits: limits)
                try await backend.transcriptions.insert(transcription)
                do {
                    _ = try await backend.queue.addTranscriptionJob(data, priority: identity.user.plan.queuePriority, jobId: transcription.jobId ?? "")
                } catch {
                    logger.error("could not enqueue", metadata: ["error": "\(error)"])
                    try? await backend.transcriptions.delete(id: id)
                    throw APIError(.serviceUnavailable, "QUEUE_UNAVAILABLE", "the queue is unavailable; try again shortly")
                }
            }
        } catch {
            // Nothing half-done stays behind.
            try? await backend.storage.delete(key: audioKey)
            throw error
        }
        return (transcription, fields)
    }

    // MARK: - Read

    /// The caller's transcription, or 404 (another user's id looks the same as a missing one).
    func owned(_ context: AppRequestContext) async throws -> Transcription {
        let identity = try context.requireIdentity()
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text),
              let row = try await backend.transcriptions.find(id: id, owner: identity.user.id)
        else { throw APIError.notFound }
        return row
    }

    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        JSONBody.success(StatusDTO(try await owned(context)))
    }

    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        ProgressEvents(backend: backend).stream(try await owned(context), request: request)
    }

    @Sendable func audio(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await AudioDownload(backend: backend).serve(try await owned(context), request: request)
    }

    @Sendable func read(_ request: Request, context: AppRequestContext) async throws -> Response {
        JSONBody.success(TranscriptionDTO(try await owned(context)))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let query = request.uri.queryParameters
        let limit = query["limit"].map { Int(String($0)) } ?? 20
        guard let limit, (1...100).contains(limit) else {
            throw APIError.badRequest("INVALID_LIMIT", "limit must be between 1 and 100")
        }
        var cursor: TranscriptionCursor?
        if let text = query["cursor"], !text.isEmpty {
            guard let decoded = TranscriptionCursor(encoded: String(text)) else {
                throw APIError.badRequest("INVALID_CURSOR", "cursor is not one this API returned")
            }
            cursor = decoded
        }
        var status: TranscriptionStatus?
        if let text = query["status"], !text.isEmpty {
            guard let parsed = TranscriptionStatus(rawValue: String(text).uppercased()) else {
                throw APIError.badRequest("INVALID_STATUS", "unknown status '\(text)'", allowed: TranscriptionStatus.allCases.map(\.rawValue))
            }
            status = parsed
        }
        let rows = try await backend.transcriptions.list(owner: identity.user.id, limit: limit + 1, after: cursor, status: status)
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { TranscriptionCursor(createdAt: $0.createdAt, id: $0.id).encoded } : nil
        return JSONBody.success(PageDTO(items: page.map(TranscriptionDTO.init), nextCursor: next))
    }

    @Sendable func result(_ request: Request, context: AppRequestContext) async throws -> Response {
        let row = try await owned(context)
        var format = row.format
        if let requested = request.uri.queryParameters["format"], !requested.isEmpty {
            guard let parsed = ResultFormat(rawValue: String(requested)) else {
                throw APIError.badRequest("INVALID_FORMAT", "unknown format", allowed: ResultFormat.allCases.map(\.rawValue))
            }
            format = parsed
        }
        guard row.status == .completed, let key = row.resultKey else {
            throw APIError(.conflict, "NOT_READY", "the transcription is \(row.status.rawValue), not COMPLETED")
        }
        // `?redirect=1`: the stored result document itself (canonical JSON), at a short-lived URL
        // (S3: presigned; local storage: the signed /api/v1/files route).
        if ["1", "true"].contains(request.uri.queryParameters["redirect"].map(String.init) ?? ""),
           let url = try await backend.storage.downloadURL(key: key, expiresIn: 300)
        {
            return Response(status: .temporaryRedirect, headers: [.location: url.absoluteString])
        }
        guard let response = try await renderedResult(row, as: format) else {
            throw APIError(.gone, "RESULT_MISSING", "the result is no longer stored")
        }
        return response
    }

    /// A completed row's stored transcript; nil when it is gone or unreadable.
    func storedResult(_ row: Transcription) async throws -> TranscriptResult? {
        guard let key = row.resultKey, let data = try await backend.storage.read(key: key) else { return nil }
        return try? JSONDecoder().decode(TranscriptResult.self, from: data)
    }

    /// A completed row's stored transcript rendered in `format`; nil when it is gone or unreadable.
    func renderedResult(_ row: Transcription, as format: ResultFormat) async throws -> Response? {
        guard let result = try await storedResult(row) else { return nil }
        let rendered = ResultRenderer.render(result, as: format)
        return Response(
            status: .ok, headers: [.contentType: rendered.contentType],
            body: .init(byteBuffer: ByteBuffer(string: rendered.body)))
    }

    // MARK: - Cancel

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let row = try await owned(context)
        let (cancelled, status) = try await cancelJob(of: row)
        return JSONBody.success(CancelDTO(transcriptionId: row.id.lowercasedString, cancelled: cancelled, status: status))
    }

    /// Stops the row's job (removed from the queue, or its worker told to stop) and marks the row cancelled.
    /// Returns whether it was cancelled and the status the row has now.
    func cancelJob(of row: Transcription) async throws -> (cancelled: Bool, status: TranscriptionStatus) {
        guard !row.status.isTerminal, let jobId = row.jobId else { return (false, row.status) }
        let cancelled = try await backend.queue.cancelJob(jobId)
        if cancelled {
            let updated = try await backend.transcriptions.update(id: row.id) { $0.status = .cancelled; $0.clearPartial() }
            // Its webhook is queued by the status sync, from the queue's own cancel event.
            return (true, updated?.status ?? .cancelled)
        }
        return (false, try await backend.transcriptions.find(id: row.id, owner: nil)?.status ?? row.status)
    }

    // MARK: - Retry

    /// Puts a FAILED transcription's job back in the queue, with its attempts counted afresh (the seed's retryFailedJob).
    @Sendable func retry(_ request: Request, context: AppRequestContext) async throws -> Response {
        let row = try await owned(context)
        guard row.status == .failed, let jobId = row.jobId else {
            throw APIError(.conflict, "NOT_FAILED", "only a FAILED transcription can be retried; this one is \(row.status.rawValue)")
        }
        guard try await backend.queue.retryFailedJob(jobId) else {
            throw APIError(.gone, "JOB_GONE", "the failed job is no longer in the queue; submit the audio again")
        }
        let updated = try await backend.transcriptions.update(id: row.id) { row in
            row.status = .queued
            row.progress = 0
            row.errorMessage = nil
            row.completedAt = nil
            row.clearPartial()
            row.retryCount += 1
        }
        return JSONBody.success(SubmittedDTO(transcriptionId: row.id.lowercasedString, jobId: jobId, status: updated?.status ?? .queued))
    }
}

/// The optional form fields of a submit, validated.
struct SubmitOptions {
    var model: String
    var format: ResultFormat
    var language: String?
    var task: TranscriptionTask
    var prompt: String?
    var wordTimestamps: Bool
    /// Where the end is reported (checked against the webhook target policy by the caller).
    var webhookURL: String?

    init(fields: [String: String]) throws {
        func value(_ name: String) -> String? {
            fields[name].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let model = WhisperModels.resolve(value("model")) else {
            throw APIError.badRequest("INVALID_MODEL", "unknown model '\(value("model") ?? "")'", allowed: WhisperModels.accepted)
        }
        let formatText = value("format") ?? value("response_format") ?? ResultFormat.json.rawValue
        guard let format = ResultFormat(rawValue: formatText) else {
            throw APIError.badRequest("INVALID_FORMAT", "unknown format '\(formatText)'", allowed: ResultFormat.allCases.map(\.rawValue))
        }
        let taskText = value("task") ?? TranscriptionTask.transcribe.rawValue
        guard let task = TranscriptionTask(rawValue: taskText) else {
            throw APIError.badRequest("INVALID_TASK", "unknown task '\(taskText)'", allowed: TranscriptionTask.allCases.map(\.rawValue))
        }
        if task == .translate && !WhisperModels.multilingual.contains(model) {
            throw APIError.badRequest(
                "INVALID_TASK", "model '\(model)' is English-only; translate needs a multilingual model",
                allowed: Array(WhisperModels.multilingual))
        }
        if let language = value("language") {
            guard (2...8).contains(language.count), language.allSatisfy({ $0.isLetter || $0 == "-" }) else {
                throw APIError.badRequest("INVALID_LANGUAGE", "language must be a code such as 'en' or 'de'")
            }
        }
        let prompt = value("prompt")
        if let prompt, prompt.count > 2000 {
            throw APIError.badRequest("INVALID_PROMPT", "prompt must be at most 2000 characters")
        }
        self.model = model
        self.format = format
        self.language = value("language")?.lowercased()
        self.task = task
        self.prompt = prompt
        self.wordTimestamps = ["true", "1", "yes"].contains(value("word_timestamps")?.lowercased() ?? "")
        self.webhookURL = value("webhook_url")
    }
}
