import Foundation
import HTTPTypes
import Hummingbird
import Persistence
import WhisperAPICore

/// The pieces every Server-Sent Events answer uses: its headers, frames and keep-alive comments.
enum ServerSentEvents {
    /// Never cached, never buffered by a proxy.
    static let headers: HTTPFields = [
        .contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no",
    ]
    /// A comment line keeps idle connections open through proxies.
    static let keepAlive = ByteBuffer(string: ": keep-alive\n\n")
    /// The longest a stream stays silent before a keep-alive.
    static let keepAliveInterval: Duration = .seconds(15)

    /// One event whose data is `value` as JSON, with an id and an event name when given.
    static func frame(_ value: some Encodable, id: Int? = nil, event: String? = nil) -> ByteBuffer {
        let data = (try? JSONBody.encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var text = ""
        if let id { text += "id: \(id)\n" }
        if let event { text += "event: \(event)\n" }
        return ByteBuffer(string: text + "data: \(data)\n\n")
    }
}

/// A transcription row as it changes: the row given, then the row read again every `interval`, until it
/// ends (a terminal status), it is gone, or `deadline` passes. The status sync keeps the row current
/// whichever worker runs the job, so any API server can follow any job this way.
struct RowUpdates: AsyncSequence {
    typealias Element = Transcription

    let row: Transcription
    let repository: TranscriptionRepository
    let interval: Duration
    var deadline: ContinuousClock.Instant?

    struct AsyncIterator: AsyncIteratorProtocol {
        let updates: RowUpdates
        var last: Transcription?

        mutating func next() async throws -> Transcription? {
            guard let previous = last else {
                last = updates.row
                return updates.row
            }
            if previous.status.isTerminal { return nil }
            if let deadline = updates.deadline, ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: updates.interval)
            guard let current = try await updates.repository.find(id: previous.id, owner: previous.userId) else { return nil }
            last = current
            return current
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(updates: self)
    }
}
