import Engine
import Foundation
import Hummingbird
import Persistence
import WhisperAPICore

extension AppRequestContext {
    /// The caller's transcription named by the `:id` path parameter, or 404 (another user's id looks the same as a
    /// missing one).
    func ownedTranscription(in transcriptions: TranscriptionRepository) async throws -> Transcription {
        let identity = try requireIdentity()
        guard let text = parameters.get("id"), let id = UUID(uuidString: text),
              let row = try await transcriptions.find(id: id, owner: identity.user.id)
        else { throw APIError.notFound }
        return row
    }
}

/// Cancelling a transcription's job, for the cancel route and for a client that went away.
struct Cancellation: Sendable {
    let transcriptions: TranscriptionRepository
    let queue: any TranscriptionQueue

    /// Stops the row's job (removed from the queue, or its worker told to stop) and marks the row cancelled.
    /// Returns whether it was cancelled and the status the row has now.
    func cancel(_ row: Transcription) async throws -> (cancelled: Bool, status: TranscriptionStatus) {
        guard !row.status.isTerminal, let jobId = row.jobId else { return (false, row.status) }
        if try await queue.cancelJob(jobId) {
            let updated = try await transcriptions.update(id: row.id) { $0.status = .cancelled; $0.clearPartial() }
            // Its webhook is queued by the status sync, from the queue's own cancel event.
            return (true, updated?.status ?? .cancelled)
        }
        return (false, try await transcriptions.find(id: row.id, owner: nil)?.status ?? row.status)
    }
}

/// A completed transcription's stored transcript, and its renderings.
struct StoredResults: Sendable {
    let storage: any ObjectStorage

    /// The stored transcript; nil when it is gone or unreadable.
    func transcript(of row: Transcription) async throws -> TranscriptResult? {
        guard let key = row.resultKey, let data = try await storage.read(key: key) else { return nil }
        return try? JSONDecoder().decode(TranscriptResult.self, from: data)
    }

    /// The stored transcript rendered in `format`; nil when it is gone or unreadable.
    func rendered(_ row: Transcription, as format: ResultFormat) async throws -> Response? {
        guard let result = try await transcript(of: row) else { return nil }
        let rendered = ResultRenderer.render(result, as: format)
        return Response(status: .ok, headers: [.contentType: rendered.contentType], body: .init(byteBuffer: ByteBuffer(string: rendered.body)))
    }
}
