import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import WhisperAPICore

/// The encoded status answers of transcriptions polled recently: a client polling a row that has not changed gets the
/// bytes encoded the last time (JSON encoding was the largest part of a status request). An answer is used only
/// while the status read for the request equals the one it was encoded from, so it is never stale; at most
/// `capacity` answers (a few hundred bytes each) are kept, and past it the cache starts again empty.
final class StatusAnswers: Sendable {
    private struct Entry {
        let status: StatusDTO
        let body: ByteBuffer
    }

    private let entries = NIOLockedValueBox([UUID: Entry]())
    let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// `{"success": true, "data": StatusDTO(row)}`, as the service's encoder writes it.
    func answer(for row: Transcription) throws -> Response {
        let status = StatusDTO(row)
        if let entry = entries.withLockedValue({ $0[row.id] }), entry.status == status {
            return JSONBody.response(.ok, body: entry.body)
        }
        let body = ByteBuffer(bytes: try JSONBody.encoder.encode(Success(status)))
        entries.withLockedValue { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[row.id] = Entry(status: status, body: body)
        }
        return JSONBody.response(.ok, body: body)
    }
}
