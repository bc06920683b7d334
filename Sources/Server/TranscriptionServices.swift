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
