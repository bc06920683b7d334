import Foundation
import SQLKit
import WhisperAPICore

/// Reads of transcription rows through SQLKit, column by column. Status, read and list requests read rows this way:
/// decoding through FluentKit's model (property wrappers, reflection) cost more than the rest of such a request.
/// Writes still go through `TranscriptionModel`.
enum TranscriptionRows {
    /// The columns a `Transcription` is read from, in the table's names.
    static let columns = [
        "id", "user_id", "status", "job_id", "progress", "s3_audio_url", "s3_result_url", "duration_seconds",
        "error_message", "model", "format", "language", "task", "prompt", "original_filename", "file_size",
        "created_at", "updated_at", "completed_at", "partial_text", "partial_segments", "api_key_id", "webhook_url",
        "retry_count", "batch_id",
    ]

    /// The columns a listing reads: all but the running transcript, which no listing shows and which grows with the
    /// audio (a listed row's `partialText` is nil).
    private static let listedColumns = columns.filter { $0 != runningTranscript }
    private static let runningTranscript = "partial_text"

    /// A select of the transcription columns (or `listedColumns`) from the table, to be narrowed by the caller. The
    /// column list is written out once (both dialects quote names with `"`), not escaped name by name on every read.
    static func select(on sql: any SQLDatabase, listing: Bool = false) -> SQLSelectBuilder {
        sql.select().column(listing ? listedColumnList : columnList).from(TranscriptionModel.schema)
    }

    private static let columnList = quoted(columns)
    private static let listedColumnList = quoted(listedColumns)

    private static func quoted(_ names: [String]) -> SQLRaw {
        SQLRaw(names.map { "\"\($0)\"" }.joined(separator: ", "))
    }

    /// The row as a `Transcription` (unknown enum values read as the model does: failed, json, transcribe).
    static func transcription(_ row: any SQLRow) throws -> Transcription {
        func value<T: Decodable>(_ column: String, _ type: T.Type = T.self) throws -> T {
            try row.decode(column: column, as: T.self)
        }
        return Transcription(
            id: try value("id"), userId: try value("user_id"),
            status: TranscriptionStatus(rawValue: try value("status", String.self)) ?? .failed,
            jobId: try value("job_id"), progress: try value("progress"), audioKey: try value("s3_audio_url"),
            resultKey: try value("s3_result_url"), durationSeconds: try value("duration_seconds"),
            errorMessage: try value("error_message"), model: try value("model"),
            format: ResultFormat(rawValue: try value("format", String.self)) ?? .json, language: try value("language"),
            task: TranscriptionTask(rawValue: try value("task", String.self)) ?? .transcribe, prompt: try value("prompt"),
            originalFilename: try value("original_filename"), fileSize: try value("file_size"),
            createdAt: try value("created_at"), updatedAt: try value("updated_at"), completedAt: try value("completed_at"),
            partialText: row.contains(column: runningTranscript) ? try value(runningTranscript) : nil,
            partialSegments: try value("partial_segments"),
            apiKeyId: try value("api_key_id"), webhookURL: try value("webhook_url"), retryCount: try value("retry_count"),
            batchId: try value("batch_id")
        )
    }
}
