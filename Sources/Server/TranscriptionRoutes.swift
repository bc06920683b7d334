import Engine
import Foundation
import Hummingbird
import Persistence
import Services
import WhisperAPICore

/// The seed's REST API: submit, status, cancel, list, read and result; and batches of submissions (BatchRoutes.swift).
struct TranscriptionRoutes {
    let transcriptions: TranscriptionRepository
    let batches: BatchRepository
    let storage: any ObjectStorage
    let submission: Submission
    let jobControl: JobControl
    /// The largest upload this route takes (the plan's own limit may be lower).
    let maxUploadBytes: Int64
    /// Downloads a submission's `audio_url`.
    let fetcher: AudioURLFetcher
    /// Status answers of rows that have not changed since they were last polled.
    let statusAnswers = StatusAnswers()

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("transcribe", use: submit)
        group.delete("transcribe/:id", use: cancel)
        group.post("transcriptions/:id/retry", use: retry)
        group.get("transcriptions/:id/events", use: events)
        group.get("status/:id", use: status)
        group.get("transcriptions", use: list)
        group.get("transcriptions/:id", use: read)
        group.delete("transcriptions/:id", use: delete)
        group.get("transcriptions/:id/result", use: result)
        group.get("transcriptions/:id/audio", use: audio)
        group.get("events", use: UserEvents(transcriptions: transcriptions).stream)
        registerBatches(on: group)
    }

    // MARK: - Submit

    @Sendable func submit(_ request: Request, context: AppRequestContext) async throws -> some ResponseGenerator {
        let (transcription, _) = try await submission.submit(
            by: try context.requireIdentity(), maxFileBytes: maxUploadBytes, idempotencyKey: request.idempotencyKey
        ) { writer, limit in
            let upload = try await UploadReceiver(maxFileBytes: limit, fetcher: fetcher).receive(request, into: writer)
            return (SubmitRequest(fields: upload.fields), upload.received, ())
        }
        context.logger.info("transcription queued", metadata: ["jobId": .string(transcription.jobId ?? "")])
        return Success.with(.accepted, SubmittedDTO(transcriptionId: transcription.id.lowercasedString, jobId: transcription.jobId ?? "", status: .queued))
    }

    // MARK: - Read

    func owned(_ context: AppRequestContext) async throws -> Transcription {
        try await context.ownedTranscription(in: transcriptions)
    }

    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        try statusAnswers.answer(for: try await owned(context))
    }

    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        ProgressEvents(transcriptions: transcriptions).stream(try await owned(context), request: request)
    }

    @Sendable func audio(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await AudioDownload(storage: storage).serve(try await owned(context), request: request)
    }

    @Sendable func read(_ request: Request, context: AppRequestContext) async throws -> Success<TranscriptionDTO> {
        Success(TranscriptionDTO(try await owned(context)))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Success<PageDTO<TranscriptionDTO>> {
        let identity = try context.requireIdentity()
        let query = request.uri.queryParameters
        let page = try PageRequest(request)
        var status: TranscriptionStatus?
        if let text = query["status"], !text.isEmpty {
            guard let parsed = TranscriptionStatus(rawValue: String(text).uppercased()) else {
                throw APIError(.invalidStatus, "unknown status '\(text)'", allowed: TranscriptionStatus.allCases.map(\.rawValue))
            }
            status = parsed
        }
        let rows = try await transcriptions.list(owner: identity.user.id, limit: page.limit + 1, after: page.cursor, status: status)
        return Success(page.answer(rows, createdAt: \.createdAt, id: \.id, as: TranscriptionDTO.init))
    }

    @Sendable func result(_ request: Request, context: AppRequestContext) async throws -> Response {
        let row = try await owned(context)
        let format = try request.requestedFormat() ?? row.format
        if row.status == .expired {
            throw APIError(.expired, "the transcription is past its plan's result retention; its result and audio are deleted")
        }
        guard row.status == .completed, let key = row.resultKey else {
            throw APIError(.resultNotReady, "the transcription is \(row.status.rawValue), not COMPLETED")
        }
        // `?redirect=1`: the stored result document itself (canonical JSON), at a short-lived URL
        // (S3: presigned; local storage: the signed /api/v1/files route).
        if ["1", "true"].contains(request.uri.queryParameters["redirect"].map(String.init) ?? ""),
           let url = try await storage.downloadURL(key: key, expiresIn: 300)
        {
            return Response(status: .temporaryRedirect, headers: [.location: url.absoluteString])
        }
        guard let response = try await StoredResults(storage: storage).rendered(row, as: format) else {
            throw APIError(.resultMissing, "the result is no longer stored")
        }
        return response
    }

    // MARK: - Cancel

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Success<CancelDTO> {
        let row = try await owned(context)
        let (cancelled, status) = try await jobControl.cancel(row)
        return Success(CancelDTO(transcriptionId: row.id.lowercasedString, cancelled: cancelled, status: status))
    }

    // MARK: - Delete

    /// Deletes the transcription, its job, audio and result at once (a running job is cancelled first): 204.
    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await jobControl.delete(try await owned(context))
        return Response(status: .noContent)
    }

    // MARK: - Retry

    /// Puts a FAILED transcription's job back in the queue.
    @Sendable func retry(_ request: Request, context: AppRequestContext) async throws -> Success<SubmittedDTO> {
        let row = try await owned(context)
        let (jobId, status) = try await jobControl.retry(row)
        return Success(SubmittedDTO(transcriptionId: row.id.lowercasedString, jobId: jobId, status: status))
    }
}
