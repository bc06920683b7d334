import FluentKit
import SQLKit
import WhisperAPICore

/// Creates users, api_keys, transcriptions and sync_cursors.
struct CreateCoreTables: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(UserModel.schema)
            .id()
            .field("email", .string, .required)
            .field("plan", .string, .required)
            .field("is_admin", .bool, .required)
            .field("created_at", .datetime, .required)
            .unique(on: "email")
            .create()
        try await database.schema(APIKeyModel.schema)
            .id()
            .field("user_id", .uuid, .required, .references(UserModel.schema, .id, onDelete: .cascade))
            .field("name", .string)
            .field("prefix", .string, .required)
            .field("key_hash", .string, .required)
            .field("created_at", .datetime, .required)
            .field("last_used_at", .datetime)
            .field("revoked_at", .datetime)
            .unique(on: "prefix")
            .create()
        try await database.schema(TranscriptionModel.schema)
            .id()
            .field("user_id", .uuid, .required, .references(UserModel.schema, .id, onDelete: .cascade))
            .field("status", .string, .required)
            .field("job_id", .string)
            .field("progress", .int, .required)
            .field("s3_audio_url", .string, .required)
            .field("s3_result_url", .string)
            .field("duration_seconds", .double)
            .field("error_message", .string)
            .field("model", .string, .required)
            .field("format", .string, .required)
            .field("language", .string)
            .field("task", .string, .required)
            .field("prompt", .string)
            .field("original_filename", .string)
            .field("file_size", .int64, .required)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .field("completed_at", .datetime)
            .create()
        try await database.schema(SyncCursorModel.schema)
            .field("name", .string, .identifier(auto: false))
            .field("position", .string, .required)
            .field("updated_at", .datetime, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        for schema in [SyncCursorModel.schema, TranscriptionModel.schema, APIKeyModel.schema, UserModel.schema] {
            try await database.schema(schema).delete()
        }
    }
}

/// Adds the running transcript of a job in progress (for clients that stream the text).
struct AddPartialTranscript: AsyncMigration {
    func prepare(on database: any Database) async throws {
        // One column per statement: SQLite adds one at a time.
        try await database.schema(TranscriptionModel.schema).field("partial_text", .string).update()
        try await database.schema(TranscriptionModel.schema).field("partial_segments", .int, .required, .sql(.default(0))).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(TranscriptionModel.schema).deleteField("partial_segments").update()
        try await database.schema(TranscriptionModel.schema).deleteField("partial_text").update()
    }
}

/// Adds webhooks: each key's signing secret and default URL, each transcription's key and URL, and the
/// record of delivery attempts. Keys made before get a secret here.
struct AddWebhooks: AsyncMigration {
    func prepare(on database: any Database) async throws {
        // One column per statement: SQLite adds one at a time.
        for (schema, field, type) in [
            (APIKeyModel.schema, "webhook_secret", DatabaseSchema.DataType.string), (APIKeyModel.schema, "webhook_url", .string),
            (TranscriptionModel.schema, "api_key_id", .uuid), (TranscriptionModel.schema, "webhook_url", .string),
        ] {
            try await database.schema(schema).field(.definition(name: .key(.string(field)), dataType: type, constraints: [])).update()
        }
        try await database.schema(TranscriptionModel.schema).field("retry_count", .int, .required, .sql(.default(0))).update()
        for key in try await APIKeyModel.query(on: database).all() where key.webhookSecret == nil {
            key.webhookSecret = APIKeyMaterial.generateWebhookSecret()
            try await key.update(on: database)
        }
        try await database.schema(WebhookAttemptModel.schema)
            .id()
            .field("delivery_id", .string, .required)
            .field("transcription_id", .uuid, .required, .references(TranscriptionModel.schema, .id, onDelete: .cascade))
            .field("event", .string, .required)
            .field("url", .string, .required)
            .field("attempt", .int, .required)
            .field("status_code", .int)
            .field("error", .string)
            .field("succeeded", .bool, .required)
            .field("will_retry", .bool, .required)
            .field("duration_ms", .int, .required)
            .field("created_at", .datetime, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(WebhookAttemptModel.schema).delete()
        for (schema, field) in [
            (APIKeyModel.schema, "webhook_secret"), (APIKeyModel.schema, "webhook_url"),
            (TranscriptionModel.schema, "api_key_id"), (TranscriptionModel.schema, "webhook_url"), (TranscriptionModel.schema, "retry_count"),
        ] {
            try await database.schema(schema).deleteField(.key(.string(field))).update()
        }
    }
}

/// Adds usage metering: one record per completed transcription, by user and month.
struct AddUsageRecords: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(UsageRecordModel.schema)
            .field("transcription_id", .uuid, .identifier(auto: false))
            .field("user_id", .uuid, .required, .references(UserModel.schema, .id, onDelete: .cascade))
            .field("period", .string, .required)
            .field("audio_seconds", .double, .required)
            .field("created_at", .datetime, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(UsageRecordModel.schema).delete()
    }
}

/// Adds dashboard sessions, and an index for the per-user event stream (a user's rows by last change).
struct AddSessions: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(SessionModel.schema)
            .id()
            .field("token_hash", .string, .required)
            .field("key_id", .uuid, .required, .references(APIKeyModel.schema, .id, onDelete: .cascade))
            .field("user_id", .uuid, .required, .references(UserModel.schema, .id, onDelete: .cascade))
            .field("csrf_token", .string, .required)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .unique(on: "token_hash")
            .create()
        if let sql = database as? any SQLDatabase {
            try await sql.create(index: "transcriptions_user_updated").on(TranscriptionModel.schema).column("user_id").column("updated_at").run()
        }
    }

    func revert(on database: any Database) async throws {
        if let sql = database as? any SQLDatabase {
            try await sql.drop(index: "transcriptions_user_updated").run()
        }
        try await database.schema(SessionModel.schema).delete()
    }
}

/// Adds each transcription's revision token, which guards every change of its status (see `TranscriptionRepository`).
struct AddTranscriptionRevision: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(TranscriptionModel.schema).field("revision", .int64, .required, .sql(.default(0))).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(TranscriptionModel.schema).deleteField("revision").update()
    }
}

/// Adds the indexes that newest-first listings read in order (a user's transcriptions and batches by creation, then
/// id), so that a page costs the same however many rows the user has.
struct AddListingIndexes: AsyncMigration {
    func prepare(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { throw UnsupportedDatabaseError() }
        for (name, table) in Self.indexes {
            try await sql.create(index: name).on(table).column("user_id").column("created_at").column("id").run()
        }
    }

    func revert(on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { throw UnsupportedDatabaseError() }
        for (name, _) in Self.indexes { try await sql.drop(index: name).run() }
    }

    private static let indexes = [
        ("transcriptions_user_created", TranscriptionModel.schema), ("batches_user_created", BatchModel.schema),
    ]
}

/// The migrations of this target, in order.
public enum PersistenceMigrations {
    public static let all: [any Migration] = [
        CreateCoreTables(), AddPartialTranscript(), AddWebhooks(), AddUsageRecords(), AddSessions(),
        AddTranscriptionRevision(), AddIdempotencyKeys(), AddAudioDeletedAt(), AddBatches(), AddListingIndexes(),
    ]
}
