import Foundation
import NIOConcurrencyHelpers
import WhisperAPICore

/// Transcription rows read recently, so that a client polling its status does not cost a database read each time
/// (reading a row through FluentKit is most of what a status request costs). For a database that only this process
/// writes (SQLite, embedded mode): every write of a row goes through `TranscriptionRepository`, which forgets the
/// row, and a read only remembers what it read if no write happened meanwhile. Rows live `lifetime` at most.
public final class TranscriptionRowCache: Sendable {
    private struct State {
        var rows: [UUID: (row: Transcription, expires: ContinuousClock.Instant)] = [:]
        /// Counts writes: a read that saw another count when it began may have read a row a write has since changed.
        var writes = 0
    }

    private let state = NIOLockedValueBox(State())
    let lifetime: Duration
    let capacity: Int

    public init(lifetime: Duration = .seconds(30), capacity: Int = 20_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The remembered row, if any and still fresh.
    func row(_ id: UUID) -> Transcription? {
        state.withLockedValue { state in
            guard let entry = state.rows[id], entry.expires > .now else { return nil }
            return entry.row
        }
    }

    /// The write count, taken before a read from the database.
    func writeCount() -> Int {
        state.withLockedValue { $0.writes }
    }

    /// Remembers a row read from the database, unless a write happened since `writes` was taken.
    func remember(_ row: Transcription, readAfter writes: Int) {
        state.withLockedValue { state in
            guard state.writes == writes else { return }
            if state.rows.count >= capacity { state.rows.removeAll(keepingCapacity: true) }
            state.rows[row.id] = (row, .now + lifetime)
        }
    }

    /// Forgets a row that is about to be written (called before and after the write).
    func forget(_ id: UUID) {
        state.withLockedValue { state in
            state.writes &+= 1
            state.rows[id] = nil
        }
    }
}
