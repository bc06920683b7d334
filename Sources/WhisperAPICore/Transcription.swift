import Foundation

/// The life cycle of a transcription as clients see it.
public enum TranscriptionStatus: String, Codable, Sendable, CaseIterable {
    case queued = "QUEUED"
    case processing = "PROCESSING"
    case completed = "COMPLETED"
    case failed = "FAILED"
    case cancelled = "CANCELLED"
    /// Past its plan's result retention: the result and audio are deleted, the metadata stays.
    case expired = "EXPIRED"

    /// Whether the status can no longer change by itself.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled || self == .expired }

    /// Whether a row may move from this status to `next`: a queued or running job may go anywhere (back to the
    /// queue for a retry too), a failed one only back to the queue (retried) or to expired; completed and cancelled
    /// only to expired (the retention sweep); expired is final.
    public func canMove(to next: TranscriptionStatus) -> Bool {
        switch self {
        case .queued, .processing: true
        case .failed: next == .failed || next == .queued || next == .expired
        case .completed, .cancelled: next == self || next == .expired
        case .expired: next == .expired
        }
    }
}

/// A transcription as stored in the database and shown by the API.
public struct Transcription: Codable, Sendable, Equatable {
    public var id: UUID
    public var userId: UUID
    public var status: TranscriptionStatus
    public var jobId: String?
    public var progress: Int
    public var audioKey: String
    public var resultKey: String?
    public var durationSeconds: Double?
    public var errorMessage: String?
    public var model: String
    public var format: ResultFormat
    public var language: String?
    public var task: TranscriptionTask
    public var prompt: String?
    public var originalFilename: String?
    public var fileSize: Int64
    public var createdAt: Date
    public var updatedAt: Date
    public var completedAt: Date?
    /// The transcript so far while the job runs (segment texts joined by spaces); cleared when it ends.
    public var partialText: String?
    /// How many segments `partialText` holds.
    public var partialSegments: Int
    /// The API key it was submitted with (its secret signs the webhooks).
    public var apiKeyId: UUID?
    /// Where its end is reported (http or https), if anywhere.
    public var webhookURL: String?
    /// How often it was put back in the queue after failing (each end gets its own webhook).
    public var retryCount: Int
    /// The batch it was submitted in, if any.
    public var batchId: UUID?

    public init(
        id: UUID = UUID(), userId: UUID, status: TranscriptionStatus = .queued, jobId: String? = nil,
        progress: Int = 0, audioKey: String, resultKey: String? = nil, durationSeconds: Double? = nil,
        errorMessage: String? = nil, model: String, format: ResultFormat, language: String? = nil,
        task: TranscriptionTask = .transcribe, prompt: String? = nil, originalFilename: String? = nil,
        fileSize: Int64, createdAt: Date = Date(), updatedAt: Date = Date(), completedAt: Date? = nil,
        partialText: String? = nil, partialSegments: Int = 0, apiKeyId: UUID? = nil, webhookURL: String? = nil,
        retryCount: Int = 0, batchId: UUID? = nil
    ) {
        self.id = id
        self.userId = userId
        self.status = status
        self.jobId = jobId
        self.progress = progress
        self.audioKey = audioKey
        self.resultKey = resultKey
        self.durationSeconds = durationSeconds
        self.errorMessage = errorMessage
        self.model = model
        self.format = format
        self.language = language
        self.task = task
        self.prompt = prompt
        self.originalFilename = originalFilename
        self.fileSize = fileSize
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.completedAt = completedAt
        self.partialText = partialText
        self.partialSegments = partialSegments
        self.apiKeyId = apiKeyId
        self.webhookURL = webhookURL
        self.retryCount = retryCount
        self.batchId = batchId
    }

    /// Appends a reported segment when it is the next one; a repeated or out-of-order report changes nothing.
    public mutating func appendPartial(_ segment: ProgressSegment) {
        guard segment.id == partialSegments else { return }
        let text = segment.text.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty {
            partialText = (partialText?.isEmpty ?? true) ? text : partialText! + " " + text
        }
        partialSegments += 1
    }

    /// Forgets the running transcript (the job starts again, or has ended).
    public mutating func clearPartial() {
        partialText = nil
        partialSegments = 0
    }
}

/// What the engine is asked to do with the speech.
public enum TranscriptionTask: String, Codable, Sendable, CaseIterable {
    case transcribe
    case translate
}

/// The formats a result can be rendered in.
public enum ResultFormat: String, Codable, Sendable, CaseIterable {
    case json
    case text
    case srt
    case vtt
    case verboseJSON = "verbose_json"
    /// OpenAI's speaker-labelled segments; asking for it asks for diarization.
    case diarizedJSON = "diarized_json"

    /// A format by the name a client gives it: its own name, or `txt` for text (the extension its files carry).
    public init?(named name: String) {
        self.init(rawValue: name == "txt" ? Self.text.rawValue : name)
    }

    /// The extension a file of this format is named with.
    public var fileExtension: String {
        switch self {
        case .json: "json"
        case .text: "txt"
        case .srt: "srt"
        case .vtt: "vtt"
        case .verboseJSON: "verbose.json"
        case .diarizedJSON: "diarized.json"
        }
    }
}

/// The Whisper models the service knows by name.
public enum WhisperModels {
    /// The model used when none is named, and what `whisper-1` means.
    public static let defaultModel = "tiny.en"
    /// Names accepted from clients.
    public static let accepted = ["tiny.en", "base", "whisper-1"]
    /// Models that detect languages and translate.
    public static let multilingual: Set<String> = ["base"]

    /// Resolves aliases such as `whisper-1`; nil when the name is unknown.
    public static func resolve(_ name: String?) -> String? {
        guard let name, !name.isEmpty else { return defaultModel }
        if name == "whisper-1" { return defaultModel }
        return accepted.contains(name) ? name : nil
    }
}
