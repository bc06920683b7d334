import Foundation

/// Turns one audio file into a transcript: the seam between the worker pool and an engine (faster-whisper in a
/// Python process today; another engine, or a fake in tests, plugs in here).
public protocol Transcriber: Sendable {
    /// Transcribes `request`, reporting progress (0–100) with each segment as it is transcribed. Cancelling the calling
    /// task stops the run. Throws `TranscriptionFailure` for a failure with a code.
    func transcribe(
        _ request: TranscriptionRequest, onProgress: @escaping @Sendable (Int, ProgressSegment?) async -> Void
    ) async throws -> TranscriptResult

    /// Releases what the transcriber holds (an engine process); it may be used again afterwards.
    func stop() async
}

/// What a transcriber is asked to do: one local audio file and the job's options.
public struct TranscriptionRequest: Codable, Sendable {
    /// The job's id (it tags the engine's messages).
    public var id: String
    /// A local file holding the audio.
    public var audio: String
    public var model: String
    public var language: String?
    public var task: String
    public var prompt: String?
    public var wordTimestamps: Bool
    /// Whether only the text is wanted: segments may then be a window of speech each (up to 30 s); otherwise they
    /// are a sentence or so, which costs a word alignment pass.
    public var textOnly: Bool
    /// Decode only the speech the VAD finds (faster-whisper's bundled Silero model); false: all the audio.
    public var vadFilter: Bool
    /// Speaker diarization, when asked.
    public var diarize: DiarizationOptions?

    enum CodingKeys: String, CodingKey {
        case id, audio, model, language, task, prompt, diarize
        case wordTimestamps = "word_timestamps"
        case textOnly = "text_only"
        case vadFilter = "vad_filter"
    }

    public init(
        id: String, audio: String, model: String, language: String?, task: String, prompt: String?, wordTimestamps: Bool,
        textOnly: Bool = false, vadFilter: Bool = true, diarize: DiarizationOptions? = nil
    ) {
        self.diarize = diarize
        self.id = id
        self.audio = audio
        self.model = model
        self.language = language
        self.task = task
        self.prompt = prompt
        self.wordTimestamps = wordTimestamps
        self.textOnly = textOnly
        self.vadFilter = vadFilter
    }
}

/// A typed failure of a transcription, reported by the engine or by its process.
public struct TranscriptionFailure: Error, Sendable, Equatable {
    public var code: String
    public var message: String

    /// The engine's codes: whether running the job again could help, and whether the request or its audio is at
    /// fault. The Python side reads the same table from `engine/failures.json` (a test keeps the two equal).
    public static let engineCodes: [String: (retryable: Bool, client: Bool)] = [
        "INVALID_AUDIO": (false, true), "UNSUPPORTED_TASK": (false, true), "BAD_REQUEST": (false, true),
        "MODEL_NOT_FOUND": (false, false), "ENGINE_ERROR": (true, false), "DIARIZATION_UNAVAILABLE": (false, true),
    ]

    /// Whether trying again could help: bad audio or a missing model will fail the same way.
    public var isRetryable: Bool { Self.engineCodes[code]?.retryable ?? true }

    /// Whether the request or its audio is at fault (not the service).
    public var isClientError: Bool { Self.engineCodes[code]?.client ?? false }

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// The failure recorded as a job's reason (`CODE: message`), read back.
    public init?(reason: String) {
        guard let colon = reason.firstIndex(of: ":") else { return nil }
        let code = String(reason[..<colon])
        guard !code.isEmpty, code.allSatisfy({ $0.isUppercase || $0 == "_" }) else { return nil }
        self.init(code: code, message: reason[reason.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }

    /// How a job's failed reason records it.
    public var reason: String { "\(code): \(message)" }
}
