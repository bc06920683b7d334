import FluentKit
import Foundation
import WhisperAPICore

/// One month's usage of one user.
public struct UsageTotals: Sendable, Equatable {
    public var audioSeconds: Double
    public var jobs: Int

    public init(audioSeconds: Double, jobs: Int) {
        self.audioSeconds = audioSeconds
        self.jobs = jobs
    }
}

/// Audio metering: each completed transcription's duration, recorded once whatever repeats.
public struct UsageRepository: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    /// Records a completed transcription's audio in the month it completed; a second call for the same
    /// transcription (a replayed event, another API server) changes nothing. Returns whether it was new.
    @discardableResult
    public func record(transcriptionId: UUID, userId: UUID, audioSeconds: Double, completedAt: Date) async throws -> Bool {
        if try await UsageRecordModel.find(transcriptionId, on: database) != nil { return false }
        let model = UsageRecordModel(
            transcriptionId: transcriptionId, userId: userId, period: UsagePeriod(containing: completedAt).description,
            audioSeconds: max(0, audioSeconds), createdAt: Date())
        do {
            try await model.create(on: database)
            return true
        } catch {
            // Two servers recording at once: the loser finds the winner's record.
            if try await UsageRecordModel.find(transcriptionId, on: database) != nil { return false }
            throw error
        }
    }

    /// A user's totals for one month.
    public func totals(userId: UUID, period: UsagePeriod) async throws -> UsageTotals {
        let month = { UsageRecordModel.query(on: database).filter(\.$userId == userId).filter(\.$period == period.description) }
        // Summed and counted by the database: a busy month is many rows.
        return UsageTotals(audioSeconds: try await month().sum(\.$audioSeconds) ?? 0, jobs: try await month().count())
    }

    /// A user's audio seconds per UTC day of one month, for the days that have any (by day, ascending).
    public func daily(userId: UUID, period: UsagePeriod) async throws -> [(day: String, audioSeconds: Double)] {
        let records = try await UsageRecordModel.query(on: database).filter(\.$userId == userId)
            .filter(\.$period == period.description).all()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var byDay: [String: Double] = [:]
        for record in records {
            let parts = calendar.dateComponents([.year, .month, .day], from: record.createdAt)
            let day = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
            byDay[day, default: 0] += record.audioSeconds
        }
        return byDay.sorted { $0.key < $1.key }.map { (day: $0.key, audioSeconds: $0.value) }
    }
}
