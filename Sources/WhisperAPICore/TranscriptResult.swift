import Foundation

/// The canonical result JSON a worker stores for every transcription.
public struct TranscriptResult: Codable, Sendable, Equatable {
    /// One stretch of speech.
    public struct Segment: Codable, Sendable, Equatable {
        public var id: Int
        public var start: Double
        public var end: Double
        public var text: String
        public var avgLogprob: Double?
        public var noSpeechProb: Double?
        public var words: [Word]?
        /// Who spoke it, when the job was diarized (`SPEAKER_1`, or a name the client gave).
        public var speaker: String?

        enum CodingKeys: String, CodingKey {
            case id, start, end, text, words, speaker
            case avgLogprob = "avg_logprob"
            case noSpeechProb = "no_speech_prob"
        }

        public init(
            id: Int, start: Double, end: Double, text: String, avgLogprob: Double? = nil, noSpeechProb: Double? = nil, words: [Word]? = nil,
            speaker: String? = nil
        ) {
            self.speaker = speaker
            self.id = id
            self.start = start
            self.end = end
            self.text = text
            self.avgLogprob = avgLogprob
            self.noSpeechProb = noSpeechProb
            self.words = words
        }
    }

    /// One word with its timing.
    public struct Word: Codable, Sendable, Equatable {
        public var word: String
        public var start: Double
        public var end: Double
        public var probability: Double?
        public var speaker: String?

        public init(word: String, start: Double, end: Double, probability: Double? = nil, speaker: String? = nil) {
            self.speaker = speaker
            self.word = word
            self.start = start
            self.end = end
            self.probability = probability
        }
    }

    /// One speaker of a diarized job and the seconds the diarization gave them.
    public struct Speaker: Codable, Sendable, Equatable {
        public var speaker: String
        public var speakingTime: Double

        enum CodingKeys: String, CodingKey {
            case speaker
            case speakingTime = "speaking_time"
        }

        public init(speaker: String, speakingTime: Double) {
            self.speaker = speaker
            self.speakingTime = speakingTime
        }
    }

    public var text: String
    public var language: String?
    public var duration: Double
    public var model: String
    public var task: String?
    public var segments: [Segment]
    /// The engine that ran (`faster-whisper` or `whisper.cpp`); absent in results written before engines were named.
    public var engine: String?
    /// The speakers of a diarized job, in order of first appearance; absent when it was not diarized.
    public var speakers: [Speaker]?

    public init(
        text: String, language: String?, duration: Double, model: String, task: String? = nil, segments: [Segment], engine: String? = nil,
        speakers: [Speaker]? = nil
    ) {
        self.speakers = speakers
        self.text = text
        self.language = language
        self.duration = duration
        self.model = model
        self.task = task
        self.segments = segments
        self.engine = engine
    }
}
