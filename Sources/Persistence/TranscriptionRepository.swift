import FluentKit
import SQLKit
import Foundation
import WhisperAPICore

/// Transcription rows; every read is scoped to an owner where the caller is a customer.
public struct TranscriptionRepository: Sendable {
    let database: any Database
    /// Rows read recently; only for a database no other process writes (nil: every read goes to the database).
    let rows: TranscriptionRowCache?

    public init(database: any Database, rowCache: TranscriptionRowCache? = nil) {
        self.database = database
        self.rows = rowCache
    }

    /// Inserts a row; `createdAt` is kept to the millisecond so listing cursors round-trip exactly.
    public func insert(_ transcription: Transcription) async throws {
        var row = transcription
        row.createdAt = PageCursor.milliseconds(row.createdAt)
        rows?.forget(row.id)
        try await TranscriptionModel(row).create(on: database)
        rows?.forget(row.id)
    }

    /// The database as SQL (both drivers speak it).
    func sql() throws -> any SQLDatabase {
        guard let sql = database as? any SQLDatabase else { throw UnsupportedDatabaseError() }
        return sql
    }

    /// Finished rows of these users, last changed before `cutoff`, whose audio is still stored: (id, audio key).
    public func audioDue(users: [UUID], before cutoff: Date, limit: Int) async throws -> [(id: UUID, audioKey: String)] {
        guard !users.isEmpty else { return [] }
        let rows = try await sql().select().columns("id", "s3_audio_url").from(TranscriptionModel.schema)
            .where("user_id", .in, users).where("status", .in, Self.finished).where("updated_at", .lessThan, cutoff)
            .where(SQLIdentifier("audio_deleted_at"), .is, SQLLiteral.null).limit(limit).all()
        return try rows.map { (try $0.decode(column: "id", as: UUID.self), try $0.decode(column: "s3_audio_url", as: String.self)) }
    }

    /// Records that a row's audio is deleted.
    public func markAudioDeleted(id: UUID, at date: Date = Date()) async throws {
        try await sql().update(TranscriptionModel.schema).set("audio_deleted_at", to: date).where("id", .equal, id).run()
    }

    /// Finished (not yet expired) rows of these users last changed before `cutoff`.
    public func resultsDue(users: [UUID], before cutoff: Date, limit: Int) async throws -> [Transcription] {
        guard !users.isEmpty else { return [] }
        return try await TranscriptionRows.select(on: try sql()).where("user_id", .in, users).where("status", .in, Self.finished)
            .where("updated_at", .lessThan, cutoff).limit(limit).all().map(TranscriptionRows.transcription)
    }

    static let finished = [TranscriptionStatus.completed, .failed, .cancelled].map(\.rawValue)

    /// Deletes a row.
    public func delete(id: UUID) async throws {
        rows?.forget(id)
        try await TranscriptionModel.query(on: database).filter(\.$id == id).delete()
        rows?.forget(id)
    }

    /// The row with this id, only when `owner` owns it (nil owner: any row).
    public func find(id: UUID, owner: UUID?) async throws -> Transcription? {
        if let cached = rows?.row(id) {
            return owner == nil || cached.userId == owner ? cached : nil
        }
        let writes = rows?.writeCount() ?? 0
        guard let found = try await TranscriptionRows.select(on: try sql()).where("id", .equal, id).first() else { return nil }
        let row = try TranscriptionRows.transcription(found)
        rows?.remember(row, readAfter: writes)
        return owner == nil || row.userId == owner ? row : nil
    }

    /// How many of the owner's transcriptions are queued or processing.
    public func activeCount(owner: UUID) async throws -> Int {
        try await TranscriptionModel.query(on: database).filter(\.$userId == owner)
            .filter(\.$status ~~ [TranscriptionStatus.queued.rawValue, TranscriptionStatus.processing.rawValue]).count()
    }

    /// Applies `change` to the row and saves it; returns the row as it is then, or nil when missing.
    @discardableResult
    public func update(id: UUID, _ change: @Sendable (inout Transcription) -> Void) async throws -> Transcription? {
        try await save(change) { try await model(id: id) }
    }

    /// The stored row with this id.
    func model(id: UUID) async throws -> TranscriptionModel? {
        try await TranscriptionModel.find(id, on: database)
    }

    /// Applies `change` to the row of a queue job; returns the row as it is then, or nil when no row has that job.
    @discardableResult
    public func update(jobId: String, _ change: @Sendable (inout Transcription) -> Void) async throws -> Transcription? {
        try await save(change) { try await TranscriptionModel.query(on: database).filter(\.$jobId == jobId).first() }
    }

    /// The one writer of a row: every change of a transcription (the status sync's events, cancel, retry,
    /// reconciliation) comes through here.
    ///
    /// `change` is applied to the row as it is now. The write happens only when the status may move that way
    /// (`TranscriptionStatus.canMove(to:)`) and no other writer changed the row since it was read: each write replaces
    /// the row's revision token, and one that finds another token read a stale row, so `change` is applied again to
    /// the newer one. Two API servers, a replayed event and a route therefore never move a row backwards.
    func save(
        _ change: @Sendable (inout Transcription) -> Void, read: @Sendable () async throws -> TranscriptionModel?
    ) async throws -> Transcription? {
        for _ in 0..<100 {
            guard let model = try await read() else { return nil }
            let before = model.toDTO()
            var value = before
            change(&value)
            if value == before { return before }
            guard before.status.canMove(to: value.status) else { return before }
            value.updatedAt = Date()
            if try await write(value, over: model) { return value }
        }
        throw ConcurrentUpdateError(id: try await read()?.id)
    }

    /// Writes `value` over `model` if the row still has `model`'s revision; false when another writer came first.
    func write(_ value: Transcription, over model: TranscriptionModel) async throws -> Bool {
        let id = value.id
        let seen = model.revision
        let next = Int64.random(in: 1...Int64.max)
        rows?.forget(id)
        defer { rows?.forget(id) }
        return try await database.transaction { tx in
            guard let sql = tx as? any SQLDatabase else { throw ConcurrentUpdateError(id: id) }
            // One statement claims the row, and says whether it did: only a writer that read the current token can.
            let claimed = try await sql.update(TranscriptionModel.schema).set("revision", to: next)
                .where("id", .equal, id).where("revision", .equal, seen).returning("id").all()
            guard !claimed.isEmpty else { return false }
            model.apply(value)
            model.revision = next
            try await model.update(on: tx)
            return true
        }
    }

    /// Rows that are queued or processing, oldest first.
    public func unfinished(limit: Int) async throws -> [Transcription] {
        try await TranscriptionRows.select(on: try sql())
            .where("status", .in, [TranscriptionStatus.queued.rawValue, TranscriptionStatus.processing.rawValue])
            .orderBy("created_at").limit(limit).all().map(TranscriptionRows.transcription)
    }

    /// One owner's rows changed at or after `since`, by time of change (oldest first): what the user's event
    /// stream has not sent yet.
    public func changed(owner: UUID, since: Date, limit: Int) async throws -> [Transcription] {
        try await TranscriptionRows.select(on: try sql()).where("user_id", .equal, owner).where("updated_at", .greaterThanOrEqual, since)
            .orderBy("updated_at").orderBy("id").limit(limit).all().map(TranscriptionRows.transcription)
    }

    /// A page of one owner's rows (of one status when given), newest first, starting after the cursor row; their
    /// running transcript is left out (`partialText` nil).
    public func list(
        owner: UUID, limit: Int, after cursor: PageCursor?, status: TranscriptionStatus? = nil
    ) async throws -> [Transcription] {
        var query = TranscriptionRows.select(on: try sql(), listing: true).where("user_id", .equal, owner)
        if let status { query = query.where("status", .equal, status.rawValue) }
        if let cursor {
            query = query.where { group in
                group.where("created_at", .lessThan, cursor.createdAt)
                    .orWhere { same in same.where("created_at", .equal, cursor.createdAt).where("id", .lessThan, cursor.id) }
            }
        }
        return try await query.orderBy("created_at", .descending).orderBy("id", .descending).limit(limit).all()
            .map(TranscriptionRows.transcription)
    }
}

/// A position in a newest-first listing: the last row a page returned.
public struct PageCursor: Sendable, Equatable {
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

/// The database is not an SQL database (every driver this service uses is).
public struct UnsupportedDatabaseError: Error, CustomStringConvertible {
    public var description: String { "the database does not speak SQL" }
}

/// A row changed under every one of many attempts to change it.
public struct ConcurrentUpdateError: Error, CustomStringConvertible {
    public let id: UUID?
    public var description: String { "transcription \(id?.uuidString ?? "?") kept changing under an update" }
}
