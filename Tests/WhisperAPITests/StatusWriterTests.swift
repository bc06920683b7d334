import Foundation
import NIOConcurrencyHelpers
@testable import Persistence
import Server
import Testing
import WhisperAPICore

/// Every change of a transcription goes through one guarded writer: no stale read, replayed event or second API
/// server moves a row backwards. (On bare backends: no status sync runs beside the writers here.)
@Suite struct StatusWriterTests {
    func newRow(_ harness: APIHarness, status: TranscriptionStatus) async throws -> Transcription {
        let user = try #require(try await harness.backend.users.find(email: "free@example.com"))
        let row = Transcription(
            userId: user.id, status: status, jobId: UUID().uuidString.lowercased(), audioKey: "audio/x", model: "tiny.en", format: .json,
            fileSize: 1)
        try await harness.backend.transcriptions.insert(row)
        return row
    }

    @Test(arguments: DatabaseDriver.available)
    func aWriterThatReadTheRowBeforeAnotherChangedItAppliesItsChangeToTheNewRow(database: DatabaseDriver) async throws {
        try await APIHarness.withBackend(database: database) { harness, _ in
            let repository = harness.backend.transcriptions
            let row = try await newRow(harness, status: .processing)
            // A progress report that read the row while it was PROCESSING; before it writes, the job completes.
            let stale = try #require(try await repository.model(id: row.id))
            try await repository.update(id: row.id) { t in
                t.status = .completed
                t.progress = 100
            }
            let reads = NIOLockedValueBox(0)
            let answer = try await repository.save({ t in
                t.status = .processing
                t.progress = 50
            }, read: {
                // The first read is the stale one; any later read sees the row as it is.
                let count = reads.withLockedValue { value -> Int in
                    value += 1
                    return value
                }
                return count == 1 ? stale : try await repository.model(id: row.id)
            })
            let final = try #require(try await repository.find(id: row.id, owner: nil))
            #expect(final.status == .completed && final.progress == 100)
            #expect(answer?.status == .completed)
            #expect(reads.withLockedValue { $0 } == 2, "the stale write was refused and the row read again")
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func manyWritersAtOnceLoseNothingAndEndWhereTheLastTransitionLeftIt(database: DatabaseDriver) async throws {
        try await APIHarness.withBackend(database: database) { harness, _ in
            let repository = harness.backend.transcriptions
            let row = try await newRow(harness, status: .queued)
            // Every writer appends one segment: none may be lost to another's write.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await repository.update(id: row.id) { t in
                            t.status = .processing
                            t.appendPartial(ProgressSegment(id: t.partialSegments, text: "s\(index)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let running = try #require(try await repository.find(id: row.id, owner: nil))
            #expect(running.partialSegments == 20)
            #expect(Set((running.partialText ?? "").split(separator: " ").map(String.init)) == Set((0..<20).map { "s\($0)" }))
            try await repository.update(id: row.id) { $0.status = .cancelled }
            // Final statuses stay final: a late completion or progress report changes nothing.
            try await repository.update(id: row.id) { $0.status = .completed }
            try await repository.update(id: row.id) { $0.status = .processing }
            #expect(try await repository.find(id: row.id, owner: nil)?.status == .cancelled)
        }
    }

    @Test func theTransitionsAllowed() {
        #expect(TranscriptionStatus.queued.canMove(to: .processing) && TranscriptionStatus.processing.canMove(to: .queued))
        #expect(TranscriptionStatus.failed.canMove(to: .queued) && !TranscriptionStatus.failed.canMove(to: .completed))
        for final in [TranscriptionStatus.completed, .cancelled] {
            for next in TranscriptionStatus.allCases where next != final && next != .expired {
                #expect(!final.canMove(to: next), "\(final) → \(next)")
            }
            #expect(final.canMove(to: .expired), "the retention sweep expires what has ended")
        }
        #expect(TranscriptionStatus.allCases.allSatisfy { $0 == .expired || !TranscriptionStatus.expired.canMove(to: $0) }, "expired is final")
        #expect(!TranscriptionStatus.queued.isTerminal && TranscriptionStatus.expired.isTerminal)
    }
}

/// The embedded database's cache of rows: reads are served from it, every write is seen at once, and a read that
/// raced a write never leaves the older row behind.
@Suite struct RowCacheTests {
    @Test func aWrittenRowIsReadAsWrittenAndOnlyItsOwnerSeesIt() async throws {
        try await APIHarness.withBackend(database: .sqlite) { harness, _ in
            let repository = harness.backend.transcriptions
            #expect(repository.rows != nil, "the embedded database has a row cache")
            let user = try #require(try await harness.backend.users.find(email: "free@example.com"))
            let other = try #require(try await harness.backend.users.find(email: "pro@example.com"))
            let row = Transcription(userId: user.id, jobId: "job-cache", audioKey: "audio/x", model: "tiny.en", format: .json, fileSize: 1)
            try await repository.insert(row)
            #expect(try await repository.find(id: row.id, owner: user.id)?.status == .queued)
            #expect(try await repository.find(id: row.id, owner: other.id) == nil, "a cached row is still another user's 404")
            try await repository.update(id: row.id) { $0.status = .processing; $0.progress = 40 }
            #expect(try await repository.find(id: row.id, owner: user.id)?.progress == 40)
            try await repository.update(jobId: "job-cache") { $0.status = .completed; $0.progress = 100 }
            #expect(try await repository.find(id: row.id, owner: nil)?.status == .completed)
            try await repository.delete(id: row.id)
            #expect(try await repository.find(id: row.id, owner: nil) == nil)
        }
    }

    @Test func aReadThatRacedAWriteIsNotRemembered() {
        let cache = TranscriptionRowCache()
        let row = Transcription(userId: UUID(), audioKey: "audio/x", model: "tiny.en", format: .json, fileSize: 1)
        let before = cache.writeCount()
        cache.forget(row.id)  // a write began after the read began
        cache.remember(row, readAfter: before)
        #expect(cache.row(row.id) == nil)
        cache.remember(row, readAfter: cache.writeCount())
        #expect(cache.row(row.id) == row)
    }
}
