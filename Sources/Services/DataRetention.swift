import Foundation
import Persistence
import WhisperAPICore

/// Deletes what each plan keeps only for a while (`PLAN_<P>_AUDIO_RETENTION_HOURS`, `PLAN_<P>_RESULT_RETENTION_DAYS`):
/// a finished transcription's audio after the first, and its result (with the audio and the partial transcript) after
/// the second, when the row becomes `EXPIRED` (its metadata stays; its result answers 410 `EXPIRED`). Usage records
/// stay. Run periodically by every API server; each step is safe to repeat.
public struct DataRetention: Sendable {
    let users: UserRepository
    let transcriptions: TranscriptionRepository
    let storage: any ObjectStorage
    let plans: PlanPolicy
    /// Rows handled per query, so that a large backlog is worked through in bounded steps.
    static let batch = 200

    public init(users: UserRepository, transcriptions: TranscriptionRepository, storage: any ObjectStorage, plans: PlanPolicy) {
        self.users = users
        self.transcriptions = transcriptions
        self.storage = storage
        self.plans = plans
    }

    /// One sweep; returns how many audio files were deleted and how many transcriptions expired.
    @discardableResult
    public func sweep(now: Date = Date()) async throws -> (audio: Int, expired: Int) {
        let everyone = try await users.all()
        var audio = 0
        var expired = 0
        for plan in Plan.allCases {
            let ids = everyone.filter { $0.plan == plan }.map(\.id)
            let limits = plans.limits(for: plan)
            if let keep = limits.resultRetention {
                expired += try await expireResults(of: ids, before: now.addingTimeInterval(-keep.inSeconds))
            }
            if let keep = limits.audioRetention {
                audio += try await deleteAudio(of: ids, before: now.addingTimeInterval(-keep.inSeconds))
            }
        }
        return (audio, expired)
    }

    private func deleteAudio(of users: [UUID], before cutoff: Date) async throws -> Int {
        var deleted = 0
        while true {
            let due = try await transcriptions.audioDue(users: users, before: cutoff, limit: Self.batch)
            for row in due {
                try await storage.delete(key: row.audioKey)
                try await transcriptions.markAudioDeleted(id: row.id)
            }
            deleted += due.count
            if due.count < Self.batch { return deleted }
        }
    }

    private func expireResults(of users: [UUID], before cutoff: Date) async throws -> Int {
        var expired = 0
        while true {
            let due = try await transcriptions.resultsDue(users: users, before: cutoff, limit: Self.batch)
            var changed = 0
            for row in due {
                try await storage.delete(key: StorageKeys.result(user: row.userId.lowercasedString, transcription: row.id.lowercasedString))
                try await storage.delete(key: row.audioKey)
                try await transcriptions.markAudioDeleted(id: row.id)
                let updated = try await transcriptions.update(id: row.id) { row in
                    row.status = .expired
                    row.clearPartial()
                }
                if updated?.status == .expired { changed += 1 }
            }
            expired += changed
            // A full batch of which nothing changed (rows that moved on meanwhile) waits for the next sweep.
            if due.count < Self.batch || changed == 0 { return expired }
        }
    }
}
