import FluentKit
import Foundation
import WhisperAPICore

/// Transcription rows; every read is scoped to an owner where the caller is a customer.
public struct TranscriptionRepository: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    /// Inserts a row; `createdAt` is kept to the millisecond so listing cursors round-trip exactly.
    public func insert(_ transcription: Transcription) async throws {
        var row = transcription
        row.createdAt = TranscriptionCursor.milliseconds(row.createdAt)
        try await TranscriptionModel(row).create(on: database)
    }

    /// Deletes a row.
    public func delete(id: UUID) async throws {
        try await TranscriptionModel.query(on: database).filter(\.$id == id).delete()
    }

    /// The row with this id, only when `owner` owns it (nil owner: any row).
    public func find(id: UUID, owner: UUID?) async throws -> Transcription? {
        var query = TranscriptionModel.query(on: database).filter(\.$id == id)
        if let owner { query = query.filter(\.$userId == owner) }
        return try await query.first()?.toDTO()
    }

    /// How many of the owner's transcriptions are queued or processing.
    public func activeCount(owner: UUID) async throws -> Int {
        try await TranscriptionModel.query(on: database).filter(\.$userId == owner)
            .filter(\.$status ~~ [TranscriptionStatus.queued.rawValue, TranscriptionStatus.processing.rawValue]).count()
    }

    /// Applies `change` to the row and saves it; returns the new value, or nil when missing.
    @discardableResult
    public func update(id: UUID, _ change: @Sendable (inout Transcription) -> Void) async throws -> Transcription? {
        try await save(TranscriptionModel.find(id, on: database), change)
    }

    /// Applies `change` to the row of a queue job; returns the new value, or nil when no row has that job.
    @discardableResult
    public func update(jobId: String, _ change: @Sendable (inout Transcription) -> Void) async throws -> Transcription? {
        try await save(TranscriptionModel.query(on: database).filter(\.$jobId == jobId).first(), change)
    }

    func save(_ found: TranscriptionModel?, _ change: @Sendable (inout Transcription) -> Void) async throws -> Transcription? {
        guard let model = found else { return nil }
        var value = model.toDTO()
        change(&value)
        value.updatedAt = Date()
        model.apply(value)
        try await model.update(on: database)
        return value
    }

    /// Rows that are queued or processing, oldest first.
    public func unfinished(limit: Int) async throws -> [Transcription] {
        try await TranscriptionModel.query(on: database)
            .filter(\.$status ~~ [TranscriptionStatus.queued.rawValue, TranscriptionStatus.processing.rawValue])
            .sort(\.$createdAt).limit(limit).all().map { $0.toDTO() }
    }

    /// One owner's rows changed at or after `since`, by time of change (oldest first): what the user's event
    /// stream has not sent yet.
    public func changed(owner: UUID, since: Date, limit: Int) async throws -> [Transcription] {
        try await TranscriptionModel.query(on: database).filter(\.$userId == owner).filter(\.$updatedAt >= since)
            .sort(\.$updatedAt).sort(\.$id).limit(limit).all().map { $0.toDTO() }
    }

    /// A page of one owner's rows (of one status when given), newest first, starting after the cursor row.
    public func list(
        owner: UUID, limit: Int, after cursor: TranscriptionCursor?, status: TranscriptionStatus? = nil
    ) async throws -> [Transcription] {
        var query = TranscriptionModel.query(on: database).filter(\.$userId == owner)
        if let status { query = query.filter(\.$status == status.rawValue) }
        if let cursor {
            query = query.group(.or) { group in
                group.filter(\.$createdAt < cursor.createdAt)
                group.group(.and) { same in
                    same.filter(\.$createdAt == cursor.createdAt).filter(\.$id < cursor.id)
                }
            }
        }
        return try await query.sort(\.$createdAt, .descending).sort(\.$id, .descending).limit(limit).all()
            .map { $0.toDTO() }
    }
}

/// A position in a newest-first listing: the last row a page returned.
public struct TranscriptionCursor: Sendable, Equatable {
    public var createdAt: Date
    public var id: UUID

    public init(createdAt: Date, id: UUID) {
        self.createdAt = Self.milliseconds(createdAt)
        self.id = id
    }

    /// The date rounded to a whole millisecond, built the same way on every path.
    static func milliseconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(Int64((date.timeIntervalSince1970 * 1000).rounded())) / 1000)
    }

    /// An opaque string for clients.
    public var encoded: String {
        let ms = Int64((createdAt.timeIntervalSince1970 * 1000).rounded())
        return Data("\(ms)|\(id.uuidString)".utf8).base64EncodedString()
    }

    /// Decodes a client's cursor; nil when malformed.
    public init?(encoded: String) {
        guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "|")
        guard parts.count == 2, let ms = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else { return nil }
        self.init(createdAt: Date(timeIntervalSince1970: Double(ms) / 1000), id: id)
    }
}

/// The status sync's persisted position in the queue's event log.
public struct SyncCursorRepository: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    public func position(name: String) async throws -> String? {
        try await SyncCursorModel.find(name, on: database)?.position
    }

    public func save(name: String, position: String) async throws {
        if let model = try await SyncCursorModel.find(name, on: database) {
            model.position = position
            model.updatedAt = Date()
            try await model.update(on: database)
        } else {
            try await SyncCursorModel(name: name, position: position).create(on: database)
        }
    }
}
