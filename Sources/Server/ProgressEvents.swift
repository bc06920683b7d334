import Foundation
import HTTPTypes
import Hummingbird
import WhisperAPICore

/// `GET /api/v1/transcriptions/:id/events`: Server-Sent Events with the transcription's status and progress
/// until it ends, the last event naming the outcome and the result link.
///
/// The stream follows the database row, which the status sync keeps current whichever worker (Swift or
/// Python) runs the job and whichever API server the client reaches. Each event's id grows with the job's
/// state (`stage * 1000 + progress`), so a client reconnecting with `Last-Event-ID` gets only newer events.
struct ProgressEvents {
    let backend: Backend
    /// How often the row is read.
    var pollInterval: Duration = .milliseconds(200)
    /// A comment line keeps idle connections open through proxies.
    var keepAliveInterval: Duration = .seconds(15)

    /// The headers of every Server-Sent Events answer: never cached, never buffered by a proxy.
    static let headers: HTTPFields = [
        .contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no",
    ]

    static func eventId(_ row: Transcription) -> Int {
        let stage = switch row.status {
        case .queued: 0
        case .processing: 1
        case .completed, .failed, .cancelled: 2
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
        }
    }

    static func frame(_ row: Transcription) -> ByteBuffer {
        let data = (try? JSONBody.encoder.encode(StatusDTO(row))).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return ByteBuffer(string: "id: \(eventId(row))\nevent: \(eventName(row.status))\ndata: \(data)\n\n")
    }

    func stream(_ row: Transcription, request: Request) -> Response {
        let lastSeen = request.headers[values: HTTPField.Name("Last-Event-ID")!].first.flatMap { Int($0) } ?? -1
        let repository = backend.transcriptions
        let (poll, keepAlive) = (pollInterval, keepAliveInterval)
        let body = ResponseBody { writer in
            var sent = lastSeen
            var current: Transcription? = row
            var quietSince = ContinuousClock.now
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            while let value = current {
                let id = Self.eventId(value)
                if id > sent {
                    try await writer.write(Self.frame(value))
                    sent = id
                    quietSince = .now
                } else if ContinuousClock.now - quietSince >= keepAlive {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    quietSince = .now
                }
                if value.status.isTerminal { break }
                try await Task.sleep(for: poll)
                current = try await repository.find(id: value.id, owner: value.userId)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: Self.headers, body: body)
    }
}
