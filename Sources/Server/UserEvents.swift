import Foundation
import HTTPTypes
import Hummingbird
import Persistence
import WhisperAPICore

/// `GET /api/v1/events`: one Server-Sent Events stream per user with every change to any of their transcriptions
/// (`queued`, `progress`, `completed`, `failed`, `cancelled`; each event's data is the transcription).
///
/// It follows the rows the status sync writes, so any API server serves it whichever worker runs the jobs. An
/// event's id is the row's change time in milliseconds; a client that reconnects with `Last-Event-ID` gets every
/// change since (a change may come twice, never not at all: each event carries the whole row).
struct UserEvents {
    let transcriptions: TranscriptionRepository
    /// How often the user's rows are read.
    var pollInterval: Duration = .milliseconds(300)
    /// How far before the newest change sent each read looks again, for a change stamped a little earlier that was
    /// committed a little later (another API server's clock, a slow transaction).
    static let overlap: TimeInterval = 2
    /// The most rows one read returns.
    static let batch = 500

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    @Sendable func stream(_ request: Request, context: AppRequestContext) async throws -> Response {
        let owner = try context.requireIdentity().user.id
        let resumeFrom = request.headers[values: HTTPField.Name("Last-Event-ID")!].first.flatMap { Int64($0) }
        let start = resumeFrom.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? Date()
        let repository = transcriptions
        let interval = pollInterval
        let body = ResponseBody { writer in
            var newest = start
            // Rows sent, with the change each was sent at: a row is sent again only when it changed again.
            var sent: [UUID: Int64] = [:]
            var quietSince = ContinuousClock.now
            try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
            while !Task.isCancelled {
                let rows = try await repository.changed(owner: owner, since: newest.addingTimeInterval(-Self.overlap), limit: Self.batch)
                for row in rows {
                    let stamp = Self.milliseconds(row.updatedAt)
                    if let last = sent[row.id], last >= stamp { continue }
                    sent[row.id] = stamp
                    newest = max(newest, row.updatedAt)
                    try await writer.write(ServerSentEvents.frame(TranscriptionDTO(row), id: Int(stamp), event: ProgressEvents.eventName(row.status)))
                    quietSince = .now
                }
                // Forget rows too old to be read again.
                let horizon = Self.milliseconds(newest.addingTimeInterval(-2 * Self.overlap))
                sent = sent.filter { $0.value >= horizon }
                if ContinuousClock.now - quietSince >= ServerSentEvents.keepAliveInterval {
                    try await writer.write(ServerSentEvents.keepAlive)
                    quietSince = .now
                }
                try await Task.sleep(for: interval)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvents.headers, body: body)
    }
}
