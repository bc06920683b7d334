import FluentKit
import Foundation
import SQLKit
import WhisperAPICore

/// Batches and their items, every read scoped to an owner where the caller is a customer.
public struct BatchRepository: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    func sql() throws -> any SQLDatabase {
        guard let sql = database as? any SQLDatabase else { throw UnsupportedDatabaseError() }
        return sql
    }

    public func insert(_ batch: Batch) async throws {
        var row = batch
        row.createdAt = PageCursor.milliseconds(row.createdAt)  // as a page cursor carries it
        try await BatchModel(row).create(on: database)
    }

    /// The owner's batches, newest first, after `cursor` (the last batch of the previous page).
    public func list(owner: UUID, limit: Int, after cursor: PageCursor?) async throws -> [Batch] {
        var query = BatchModel.query(on: database).filter(\.$userId == owner)
        if let cursor {
            query = query.group(.or) { group in
                group.filter(\.$createdAt < cursor.createdAt).group(.and) { same in
                    same.filter(\.$createdAt == cursor.createdAt).filter(\.$id < cursor.id)
                }
            }
        }
        return try await query.sort(\.$createdAt, .descending).sort(\.$id, .descending).range(..<limit).all().map { $0.toDTO() }
    }

    /// The batch with this id, only when `owner` owns it (nil owner: any batch).
    public func find(id: UUID, owner: UUID?) async throws -> Batch? {
        var query = BatchModel.query(on: database).filter(\.$id == id)
        if let owner { query = query.filter(\.$userId == owner) }
        return try await query.first()?.toDTO()
    }

    /// The batch's transcriptions in the order they were submitted.
    public func items(of batchId: UUID) async throws -> [Transcription] {
        try await items(of: [batchId])[batchId] ?? []
    }

    /// Several batches' transcriptions with one query, by batch, each in the order they were submitted.
    public func items(of batchIds: [UUID]) async throws -> [UUID: [Transcription]] {
        guard !batchIds.isEmpty else { return [:] }
        let rows = try await TranscriptionRows.select(on: try sql()).where("batch_id", .in, batchIds)
            .orderBy("created_at").orderBy("id").all().map(TranscriptionRows.transcription)
        return Dictionary(grouping: rows) { $0.batchId ?? UUID() }
    }

    /// Marks the batch ended, once: true for the one caller that did (only that one queues its webhook).
    public func markCompleted(id: UUID, at date: Date = Date()) async throws -> Bool {
        let claimed = try await sql().update(BatchModel.schema).set("completed_at", to: date)
            .where("id", .equal, id).where(SQLIdentifier("completed_at"), .is, SQLLiteral.null).returning("id").all()
        return !claimed.isEmpty
    }

    /// Undoes `markCompleted` (its webhook could not be queued; the next item event tries again).
    public func reopen(id: UUID) async throws {
        try await sql().update(BatchModel.schema).set("completed_at", to: SQLLiteral.null).where("id", .equal, id).run()
    }

    /// Deletes the batch row (its items are deleted one by one by the caller, with what they stored).
    public func delete(id: UUID) async throws {
        try await BatchModel.query(on: database).filter(\.$id == id).delete()
    }

    /// Deletes every batch of `owner` (after their items were deleted).
    public func deleteAll(owner: UUID) async throws {
        try await BatchModel.query(on: database).filter(\.$userId == owner).delete()
    }
}

/// A row of `batches`.
final class BatchModel: Model, @unchecked Sendable {
    static let schema = "batches"

    @ID(key: .id) var id: UUID?
    @Field(key: "user_id") var userId: UUID
    @OptionalField(key: "api_key_id") var apiKeyId: UUID?
    @OptionalField(key: "webhook_url") var webhookURL: String?
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "completed_at") var completedAt: Date?

    init() {}

    init(_ batch: Batch) {
        id = batch.id
        userId = batch.userId
        apiKeyId = batch.apiKeyId
        webhookURL = batch.webhookURL
        createdAt = batch.createdAt
        completedAt = batch.completedAt
    }

    func toDTO() -> Batch {
        Batch(
            id: id ?? UUID(), userId: userId, apiKeyId: apiKeyId, webhookURL: webhookURL, createdAt: createdAt, completedAt: completedAt)
    }
}

/// Adds `batches` and the batch each transcription belongs to (indexed: a batch's status reads its items).
struct AddBatches: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(BatchModel.schema)
            .id()
            .field("user_id", .uuid, .required, .references(UserModel.schema, .id, onDelete: .cascade))
            .field("api_key_id", .uuid)
            .field("webhook_url", .string)
            .field("created_at", .datetime, .required)
            .field("completed_at", .datetime)
            .create()
        try await database.schema(TranscriptionModel.schema).field("batch_id", .uuid).update()
        guard let sql = database as? any SQLDatabase else { throw UnsupportedDatabaseError() }
        try await sql.create(index: "transcriptions_batch_id").on(TranscriptionModel.schema).column("batch_id").run()
    }

    func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { throw UnsupportedDatabaseError() }
        try await sql.drop(index: "transcriptions_batch_id").run()
        try await database.schema(TranscriptionModel.schema).deleteField("batch_id").update()
        try await database.schema(BatchModel.schema).delete()
    }
}
