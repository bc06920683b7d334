import Foundation

/// What a job asks of speaker diarization (who spoke when): what the caller knows of the speakers. A job without it
/// is not diarized.
public struct DiarizationOptions: Codable, Sendable, Equatable {
    /// The exact number of speakers, when known.
    public var speakers: Int?
    /// Bounds for the number of speakers the engine may find.
    public var minSpeakers: Int?
    public var maxSpeakers: Int?
    /// Names for the speakers in order of first appearance (OpenAI's `known_speaker_names[]`); the others are
    /// `SPEAKER_<n>`.
    public var names: [String]?

    /// The most speakers a request may name or bound.
    public static let mostSpeakers = 20

    enum CodingKeys: String, CodingKey {
        case speakers, names
        case minSpeakers = "min_speakers"
        case maxSpeakers = "max_speakers"
    }

    public init(speakers: Int? = nil, minSpeakers: Int? = nil, maxSpeakers: Int? = nil, names: [String]? = nil) {
        self.speakers = speakers
        self.minSpeakers = minSpeakers
        self.maxSpeakers = maxSpeakers
        self.names = names
    }
}

/// Whether some worker of this deployment can diarize: the embedded workers' engine, or on Redis the workers that
/// advertise it with a heartbeat.
public protocol DiarizationCapability: Sendable {
    func available() async -> Bool
}

/// A capability known when the process starts (embedded mode: its own workers).
public struct FixedCapability: DiarizationCapability {
    let value: Bool

    public init(_ value: Bool) { self.value = value }

    public func available() async -> Bool { value }
}
