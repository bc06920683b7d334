import FluentKit
import Foundation

/// A submission's idempotency key as stored: the request it first named (a fingerprint of the audio and the fields)
/// and the transcription that request made.
public struct IdempotencyRecord: Sendable, Equatable {
    public var userId: UUID
    public var key: String
    /// SHA-256 (hex) over the audio's bytes and the request's fields.
    public var fingerprint: String
    public var transcriptionId: UUID
    public var createdAt: Date

    public init(userId: UUID, key: String, fingerprint: String, transcriptionId: UUID, createdAt: Date) {
        self.userId = userId
        self.key = key
        self.fingerprint = fingerprint
        self.transcriptionId = transcriptionId
        self.createdAt = createdAt
    }
}

/// Idempotency keys of submissions, per user, in the database every API server shares. Callers hold the user's
/// submit lock around `find` and `record`, so that two identical requests on two servers make one transcription.
public struct IdempotencyRepository: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    /// The user's entry for `key` made at or after `since` (an older one no longer counts).
    public func find(userId: UUID, key: String, since: Date) async throws -> IdempotencyRecord? {
        try await IdempotencyKeyModel.query(on: database)
            .filter(\.$userId == userId).filter(\.$key == key).filter(\.$createdAt >= since)
            .first()?.toDTO()
    }

    /// Stores an entry, replacing an expired one of the same key.
    public func record(_ record: IdempotencyRecord) async throws {
        try await IdempotencyKeyModel.query(on: database).filter(\.$userId == record.userId).filter(\.$key == record.key).delete()
        try await IdempotencyKeyModel(record).create(on: database)
    }

    /// Deletes the user's entry for `key` (its request did not go through).
    public func forget(userId: UUID, key: String) async throws {
        try await IdempotencyKeyModel.query(on: database).filter(\.$userId == userId).filter(\.$key == key).delete()
    }

    /// Deletes entries made before `date`; returns how many.
    @discardableResult
    public func deleteOlder(than date: Date) async throws -> Int {
        let old = IdempotencyKeyModel.query(on: database).filter(\.$createdAt < date)
        let count = try await old.count()
        try await IdempotencyKeyModel.query(on: database).filter(\.$createdAt < date).delete()
        return count
    }
}

final class IdempotencyKeyModel: Model, @unchecked Sendable {
    static let schema = "idempotency_keys"

    @ID(key: .id) var id: UUID?
    @Field(key: "user_id") var userId: UUID
    @Field(key: "key") var key: String
    @Field(key: "fingerprint") var fingerprint: String
    @Field(key: "transcription_id") var transcriptionId: UUID
    @Field(key: "created_at") var createdAt: Date

    init() {}

    init(_ record: IdempotencyRecord) {
        id = UUID()
        userId = record.userId
        key = record.key
        fingerprint = record.fingerprint
        transcriptionId = record.transcriptionId
        createdAt = record.createdAt
    }

    func toDTO() -> IdempotencyRecord {
        IdempotencyRecord(userId: userId, key: key, fingerprint: fingerprint, transcriptionId: transcriptionId, createdAt: createdAt)
    }
}

/// Adds the submissions' idempotency keys.
struct AddIdempotencyKeys: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(IdempotencyKeyModel.schema)
            .id()
            .field("user_id", .uuid, .required, .references(UserModel.schema, .id, onDelete: .cascade))
            .field("key", .string, .required)
            .field("fingerprint", .string, .required)
            .field("transcription_id", .uuid, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "user_id", "key")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(IdempotencyKeyModel.schema).delete()
    }
}

/// Records when a finished transcription's audio was deleted by the retention sweep (read and written by SQL only).
struct AddAudioDeletedAt: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(TranscriptionModel.schema).field("audio_deleted_at", .datetime).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(TranscriptionModel.schema).deleteField("audio_deleted_at").update()
    }
}
