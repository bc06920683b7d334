import Foundation
import WhisperAPICore

/// A transcription as the API shows it (never the database model).
struct TranscriptionDTO: Encodable {
    let id: String
    let status: TranscriptionStatus
    let jobId: String?
    let progress: Int
    let model: String
    let format: ResultFormat
    let language: String?
    let task: TranscriptionTask
    let originalFilename: String?
    let fileSize: Int64
    let durationSeconds: Double?
    let errorMessage: String?
    let createdAt: Date
    let updatedAt: Date
    let completedAt: Date?
    let resultUrl: String?
    /// The batch it was submitted in, if any.
    let batchId: String?

    init(_ t: Transcription) {
        id = t.id.lowercasedString
        batchId = t.batchId?.lowercasedString
        status = t.status
        jobId = t.jobId
        progress = t.progress
        model = t.model
        format = t.format
        language = t.language
        task = t.task
        originalFilename = t.originalFilename
        fileSize = t.fileSize
        durationSeconds = t.durationSeconds
        errorMessage = t.errorMessage
        createdAt = t.createdAt
        updatedAt = t.updatedAt
        completedAt = t.completedAt
        resultUrl = Self.resultPath(t)
    }

    /// Where a completed transcription's result can be fetched.
    static func resultPath(_ t: Transcription) -> String? {
        t.status == .completed ? "/api/v1/transcriptions/\(t.id.lowercasedString)/result" : nil
    }
}

/// The seed's status shape.
struct StatusDTO: Encodable, Equatable {
    let transcriptionId: String
    let jobId: String?
    let status: TranscriptionStatus
    let progress: Int
    let durationSeconds: Double?
    let errorMessage: String?
    let createdAt: Date
    let completedAt: Date?
    let resultUrl: String?

    init(_ t: Transcription) {
        transcriptionId = t.id.lowercasedString
        jobId = t.jobId
        status = t.status
        progress = t.progress
        durationSeconds = t.durationSeconds
        errorMessage = t.errorMessage
        createdAt = t.createdAt
        completedAt = t.completedAt
        resultUrl = TranscriptionDTO.resultPath(t)
    }
}

struct SubmittedDTO: Encodable {
    let transcriptionId: String
    let jobId: String
    let status: TranscriptionStatus
}

struct CancelDTO: Encodable {
    let transcriptionId: String
    let cancelled: Bool
    let status: TranscriptionStatus
}

struct PageDTO<Item: Encodable & Sendable>: Encodable, Sendable {
    let items: [Item]
    let nextCursor: String?
}

