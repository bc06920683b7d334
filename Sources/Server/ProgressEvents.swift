import Foundation
import HTTPTypes
import Hummingbird
import Persistence
import WhisperAPICore

/// `GET /api/v1/transcriptions/:id/events`: Server-Sent Events with the transcription's status and progress
/// until it ends, the last event naming the outcome and the result link.
///
/// The stream follows the database row, which the status sync keeps current whichever worker (Swift or
/// Python) runs the job and whichever API server the client reaches. Each event's id grows with the job's
/// state (`stage * 1000 + progress`), so a client reconnecting with `Last-Event-ID` gets only newer events.
struct ProgressEvents {
    let transcriptions: TranscriptionRepository
    /// How often the row is read.
    var pollInterval: Duration = .milliseconds(200)

    static func eventId(_ row: Transcription) -> Int {
        let stage = switch row.status {
        case .queued: 0
        case .processing: 1
        case .completed, .failed, .cancelled, .expired: 2
        }
        return stage * 1000 + (row.status.isTerminal ? 100 : row.progress)
    }

    static func eventName(_ status: TranscriptionStatus) -> String {
        switch status {
        case .queued: "queued"
        case .processing: "progress"
        case .completed: "completed"
        case .failed: "failed"
        case .cancelled: "cancelled"
        case .expired: "expired"
        }
    }

    func stream(_ row: Transcription, request: Request) -> Response {
        let lastSeen = request.headers[values: HTTPField.Name("Last-Event-ID")!].first.flatMap { Int($0) } ?? -1
        let updates = RowUpdates(row: row, repository: transcriptions, interval: pollInterval)
        let body = ResponseBody { writer in
            var sent = lastSeen
            var quietSince = ContinuousClock.now
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            for try await value in updates {
                let id = Self.eventId(value)
                if id > sent {
                    try await writer.write(ServerSentEvents.frame(StatusDTO(value), id: id, event: Self.eventName(value.status)))
                    sent = id
                    quietSince = .now
                } else if ContinuousClock.now - quietSince >= ServerSentEvents.keepAliveInterval {
                    try await writer.write(ServerSentEvents.keepAlive)
                    quietSince = .now
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvents.headers, body: body)
    }
}
