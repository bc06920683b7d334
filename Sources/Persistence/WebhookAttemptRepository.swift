import FluentKit
import Foundation
import WhisperAPICore

/// The record of webhook delivery attempts.
public struct WebhookAttemptRepository: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    /// Records one attempt.
    public func record(_ attempt: WebhookAttempt) async throws {
        try await WebhookAttemptModel(attempt).create(on: database)
    }

    /// A transcription's attempts, oldest first.
    public func attempts(transcriptionId: UUID) async throws -> [WebhookAttempt] {
        try await WebhookAttemptModel.query(on: database).filter(\.$transcriptionId == transcriptionId)
            .sort(\.$createdAt).sort(\.$attempt).all().map { $0.toDTO() }
    }
}
