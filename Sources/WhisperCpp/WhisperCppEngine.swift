import CWhisper
import Foundation
import Logging
import NIOConcurrencyHelpers
import WhisperAPICore

/// Where the whisper.cpp engine finds its library and models, and how it runs them.
public struct WhisperCppConfiguration: Sendable {
    /// libwhisper (`.whispercpp/lib/libwhisper.so`, built by `scripts/build-whispercpp.sh`).
    public var library: String
    /// The folder of converted ggml models (`models/`, written by `python -m engine.ggml`).
    public var modelDirectory: String
    /// Which conversion to load: `q8_0` (the default: faster, same words on our checks) or `f16`.
    public var weights: String
    /// CPU threads per run; the runs at one time share them.
    public var threads: Int
    /// Beam width, as the faster-whisper engine uses.
    public var beamSize: Int
    /// The ffmpeg program that decodes uploads.
    public var ffmpeg: String

    public init(library: String, modelDirectory: String, weights: String = "q8_0", threads: Int, beamSize: Int = 5, ffmpeg: String = "ffmpeg") {
        self.library = library
        self.modelDirectory = modelDirectory
        self.weights = weights
        self.threads = threads
        self.beamSize = beamSize
        self.ffmpeg = ffmpeg
    }

    /// The ggml file for a model name (`ggml-tiny.en-q8_0.bin`, or `ggml-tiny.en.bin` for f16).
    public func modelFile(_ model: String) -> String {
        "\(modelDirectory)/ggml-\(model)\(weights == "f16" ? "" : "-\(weights)").bin"
    }
}

/// The whisper.cpp engine: libwhisper in this process, no Python. Each model is loaded once and shared by every job
/// (each run has its own whisper state); a run goes on a thread of its own, reports progress and segments through
/// whisper's callbacks, and stops within a fraction of a second when its task is cancelled (whisper's abort
/// callback). Results are the same canonical JSON as the faster-whisper engine's, with `engine: "whisper.cpp"`.
public actor WhisperCppEngine: Transcriber {
    let configuration: WhisperCppConfiguration
    let logger: Logger
    private var models: [String: LoadedModel] = [:]
    /// Runs in progress, at most one per thread; the others wait their turn in `waiting`, first come first served.
    private var running = 0
    private var waiting: [(ticket: Int, admit: CheckedContinuation<Void, any Error>)] = []
    private var nextTicket = 0

    /// The engine's name in results and `/v1/models`.
    public static let name = "whisper.cpp"

    public init(configuration: WhisperCppConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func transcribe(
        _ request: TranscriptionRequest, onProgress: @escaping @Sendable (Int, ProgressSegment?) async -> Void
    ) async throws -> TranscriptResult {
        let name = WhisperModels.resolve(request.model) ?? request.model
        guard ["transcribe", "translate"].contains(request.task) else {
            throw TranscriptionFailure(code: "BAD_REQUEST", message: "unknown task '\(request.task)'")
        }
        if request.diarize != nil {
            throw TranscriptionFailure(code: "DIARIZATION_UNAVAILABLE", message: "the whisper.cpp engine does not diarize speakers; use faster-whisper")
        }
        let model = try load(name)
        if request.task == "translate" && !model.multilingual {
            throw TranscriptionFailure(code: "UNSUPPORTED_TASK", message: "model '\(name)' is English-only and cannot translate")
        }
        let samples = try await AudioDecoder(ffmpeg: configuration.ffmpeg).decode(request.audio)
        try await admit()
        let options = WhisperRun.Options(
            language: model.multilingual ? request.language : "en", translate: request.task == "translate", prompt: request.prompt,
            threads: max(1, configuration.threads / running), beamSize: configuration.beamSize,
            wordTimestamps: request.wordTimestamps)
        // The turn ends when whisper's thread does (a cancelled run returns before whisper has stopped).
        let transcript = try await WhisperRun(model: model, options: options).run(samples, onProgress: onProgress) {
            Task { await self.release() }
        }
        return TranscriptResult(
            text: transcript.segments.map(\.text).filter { !$0.isEmpty }.joined(separator: " "),
            language: transcript.language, duration: (Double(samples.count) / Double(AudioDecoder.sampleRate) * 1000).rounded() / 1000,
            model: name, task: request.task, segments: transcript.segments, engine: Self.name)
    }

    /// Models stay loaded for the worker's life; nothing else is held between jobs.
    public func stop() {}

    // MARK: - Turns

    /// Waits for a turn: as many runs at once as there are threads (a lone job gets them all; a burst gets one run a
    /// core rather than many runs fighting for each). A job cancelled while it waits leaves at once.
    private func admit() async throws {
        if running < max(1, configuration.threads) {
            running += 1
            return
        }
        nextTicket += 1
        let ticket = nextTicket
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (admit: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled {
                    admit.resume(throwing: CancellationError())
                } else {
                    waiting.append((ticket, admit))
                }
            }
        } onCancel: {
            Task { await self.abandon(ticket) }
        }
    }

    /// Hands the finished run's turn to the first waiting job.
    private func release() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().admit.resume()
        }
    }

    private func abandon(_ ticket: Int) {
        guard let index = waiting.firstIndex(where: { $0.ticket == ticket }) else { return }
        waiting.remove(at: index).admit.resume(throwing: CancellationError())
    }

    /// The loaded model, loading it (and libwhisper) on first use.
    private func load(_ name: String) throws -> LoadedModel {
        if let model = models[name] { return model }
        setenv("OMP_WAIT_POLICY", "passive", 0)  // OpenMP's busy waiting starves everything else on a shared machine
        if let problem = wa_load_library(configuration.library) {
            throw TranscriptionFailure(code: "ENGINE_UNAVAILABLE", message: "libwhisper could not be loaded: \(String(cString: problem))")
        }
        let file = configuration.modelFile(name)
        guard FileManager.default.fileExists(atPath: file) else {
            throw TranscriptionFailure(code: "MODEL_NOT_FOUND", message: "model '\(name)' is not converted for whisper.cpp (run make setup)")
        }
        guard let handle = wa_model_load(file) else {
            throw TranscriptionFailure(code: "MODEL_NOT_FOUND", message: "model '\(name)' could not be loaded by whisper.cpp")
        }
        let model = LoadedModel(handle: handle, multilingual: wa_model_is_multilingual(handle))
        models[name] = model
        logger.info("whisper.cpp model loaded", metadata: ["model": "\(name)", "file": "\(file)"])
        return model
    }
}

/// A model loaded in libwhisper, shared by the runs that use it (whisper.cpp allows one state per run on one model).
final class LoadedModel: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    let multilingual: Bool

    init(handle: UnsafeMutableRawPointer, multilingual: Bool) {
        self.handle = handle
        self.multilingual = multilingual
    }

    deinit { wa_model_free(handle) }
}
