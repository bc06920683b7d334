import Foundation

/// Several transcriptions submitted with one call (`POST /api/v1/batches`). Each item is an ordinary transcription
/// that names its batch; the batch adds one `batch.completed` webhook when every item has ended and one zip of their
/// results.
public struct Batch: Codable, Sendable, Equatable {
    public var id: UUID
    public var userId: UUID
    /// The key it was submitted with (its secret signs the webhook).
    public var apiKeyId: UUID?
    /// Where `batch.completed` is sent, if anywhere.
    public var webhookURL: String?
    public var createdAt: Date
    /// When its last item ended (and its webhook was queued); nil while items are queued or running.
    public var completedAt: Date?

    public init(
        id: UUID = UUID(), userId: UUID, apiKeyId: UUID? = nil, webhookURL: String? = nil,
        createdAt: Date = Date(), completedAt: Date? = nil
    ) {
        self.id = id
        self.userId = userId
        self.apiKeyId = apiKeyId
        self.webhookURL = webhookURL
        self.createdAt = createdAt
        self.completedAt = completedAt
    }

    /// Where the zip of its results is fetched.
    public var resultPath: String { "/api/v1/batches/\(id.lowercasedString)/result" }
}

/// Where a batch stands, from its items: how many are in each status, the overall progress, and whether all ended.
public struct BatchTally: Sendable, Equatable {
    /// Items by status (every status present, zero where none).
    public var counts: [TranscriptionStatus: Int]
    /// 0–100: the mean of the items' progress, an ended item counting 100.
    public var progress: Int
    public var status: BatchStatus

    /// `counts` keyed by the statuses' names, as clients see them.
    public var countsByName: [String: Int] {
        Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
    }

    public init(_ items: [Transcription]) {
        var counts = Dictionary(uniqueKeysWithValues: TranscriptionStatus.allCases.map { ($0, 0) })
        for item in items { counts[item.status, default: 0] += 1 }
        self.counts = counts
        let ended = items.filter(\.status.isTerminal).count
        progress = items.isEmpty ? 100 : items.map { $0.status.isTerminal ? 100 : $0.progress }.reduce(0, +) / items.count
        status = ended == items.count ? .completed : ended > 0 || counts[.processing, default: 0] > 0 ? .processing : .queued
    }
}

/// A batch's state: every item waiting, some running or ended, or every item ended (whatever each item's end was).
public enum BatchStatus: String, Codable, Sendable, CaseIterable {
    case queued = "QUEUED"
    case processing = "PROCESSING"
    case completed = "COMPLETED"
}

/// One item of a batch as clients see it (in the batch's status, its webhook and its zip's manifest).
public struct BatchItemSummary: Encodable, Sendable {
    public let transcriptionId: String
    public let status: TranscriptionStatus
    /// 0–100; an ended item counts 100.
    public let progress: Int
    public let originalFilename: String?
    public let durationSeconds: Double?
    public let errorMessage: String?
    /// The item's entry in the batch's zip (only in its manifest).
    public var file: String?

    public init(_ t: Transcription) {
        transcriptionId = t.id.lowercasedString
        status = t.status
        progress = t.status.isTerminal ? 100 : t.progress
        originalFilename = t.originalFilename
        durationSeconds = t.durationSeconds
        errorMessage = t.errorMessage
    }
}
