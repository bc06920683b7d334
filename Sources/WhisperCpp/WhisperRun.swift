import CWhisper
import Foundation
import NIOConcurrencyHelpers
import WhisperAPICore

/// One whisper.cpp run over a job's samples: `whisper_full` on a thread of its own (it blocks for the whole run),
/// its callbacks turned into progress events for the job, and cancellation of the job's task into whisper's abort.
struct WhisperRun {
    struct Options {
        /// A language code, or nil to detect it.
        var language: String?
        var translate: Bool
        var prompt: String?
        var threads: Int
        var beamSize: Int
        var wordTimestamps: Bool
    }

    /// What a finished run produced.
    struct Transcript {
        var language: String?
        var segments: [TranscriptResult.Segment]
    }

    let model: LoadedModel
    let options: Options

    /// Transcribes `samples`, reporting progress and each segment as whisper finishes it. A cancelled run returns at
    /// once; whisper stops at its next check (it checks between steps, and an encoder pass may take a second), and
    /// `whenStopped` is called when its thread has ended either way.
    func run(
        _ samples: [Float], onProgress: @escaping @Sendable (Int, ProgressSegment?) async -> Void, whenStopped: @escaping @Sendable () -> Void
    ) async throws -> Transcript {
        let context = RunContext(wordTimestamps: options.wordTimestamps, model: model)
        // Progress is handed to the job in order, off whisper's thread; the run's result waits until all of it is.
        let reporter = Task {
            for await event in context.events.stream { await onProgress(event.percent, event.segment) }
        }
        let outcome: Result<Transcript, any Error> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                context.awaitOutcome(continuation)
                let thread = Thread {
                    context.deliver(Self.execute(samples, options, model, context))
                    whenStopped()
                }
                thread.name = "whisper.cpp"
                thread.stackSize = 8 << 20
                thread.start()
            }
        } onCancel: {
            context.cancelled.withLockedValue { $0 = true }
            context.deliver(.failure(CancellationError()))
        }
        context.events.continuation.finish()
        await reporter.value
        try Task.checkCancellation()
        return try outcome.get()
    }

    /// The blocking part, on the run's own thread.
    private static func execute(_ samples: [Float], _ options: Options, _ model: LoadedModel, _ context: RunContext) -> Result<Transcript, any Error> {
        guard let state = wa_state_new(model.handle) else {
            return .failure(TranscriptionFailure(code: "ENGINE_ERROR", message: "whisper.cpp could not allocate a run"))
        }
        defer { wa_state_free(state) }
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }
        var callbacks = wa_callbacks()
        callbacks.user = unmanaged.toOpaque()
        callbacks.progress = { user, percent in RunContext.from(user).progressed(Int(percent)) }
        callbacks.segments = { user, state, first, count in RunContext.from(user).finished(state, Int(first), Int(count)) }
        callbacks.should_abort = { user in RunContext.from(user).cancelled.withLockedValue { $0 } }
        let status = withOptionalCString(options.language) { language in
            withOptionalCString(options.prompt) { prompt in
                let settings = wa_options(
                    language: language, translate: options.translate, prompt: prompt, threads: Int32(options.threads),
                    beam_size: Int32(options.beamSize), token_timestamps: options.wordTimestamps)
                return samples.withUnsafeBufferPointer { buffer in
                    wa_run(model.handle, state, buffer.baseAddress, Int32(buffer.count), settings, callbacks)
                }
            }
        }
        if context.cancelled.withLockedValue({ $0 }) { return .failure(CancellationError()) }
        guard status == 0 else {
            return .failure(TranscriptionFailure(code: "ENGINE_ERROR", message: "whisper.cpp failed (status \(status))"))
        }
        let language = wa_language(state).map { String(cString: $0) }
        return .success(Transcript(language: language, segments: context.segments.withLockedValue { $0 }))
    }
}

/// What the C callbacks reach: the run's events, its cancel flag and the segments read so far.
final class RunContext: Sendable {
    struct Event: Sendable {
        var percent: Int
        var segment: ProgressSegment?
    }

    let events = AsyncStream<Event>.makeStream()
    let cancelled = NIOLockedValueBox(false)
    /// The waiting caller, or the outcome that came first: the run's own, or a cancel's.
    private let outcome = NIOLockedValueBox<(waiter: CheckedContinuation<Result<WhisperRun.Transcript, any Error>, Never>?, first: Result<WhisperRun.Transcript, any Error>?)>((nil, nil))
    let segments = NIOLockedValueBox([TranscriptResult.Segment]())
    private let percent = NIOLockedValueBox(0)
    let wordTimestamps: Bool
    let model: LoadedModel

    init(wordTimestamps: Bool, model: LoadedModel) {
        self.wordTimestamps = wordTimestamps
        self.model = model
    }

    /// Registers the caller that waits for the outcome (handed over at once if one came already).
    func awaitOutcome(_ waiter: CheckedContinuation<Result<WhisperRun.Transcript, any Error>, Never>) {
        let ready = outcome.withLockedValue { state -> Result<WhisperRun.Transcript, any Error>? in
            if let first = state.first { return first }
            state.waiter = waiter
            return nil
        }
        if let ready { waiter.resume(returning: ready) }
    }

    /// Hands the caller the first outcome; later ones are dropped.
    func deliver(_ result: Result<WhisperRun.Transcript, any Error>) {
        let waiter = outcome.withLockedValue { state -> CheckedContinuation<Result<WhisperRun.Transcript, any Error>, Never>? in
            guard state.first == nil else { return nil }
            state.first = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: result)
    }

    static func from(_ user: UnsafeMutableRawPointer?) -> RunContext {
        Unmanaged<RunContext>.fromOpaque(user!).takeUnretainedValue()
    }

    /// Whisper's progress; it only rises (whisper reports a window's start again on a fallback).
    func progressed(_ value: Int) {
        let risen = percent.withLockedValue { current -> Int? in
            guard value > current else { return nil }
            current = min(value, 99)
            return current
        }
        if let risen { events.continuation.yield(Event(percent: risen, segment: nil)) }
    }

    /// Reads whisper's new segments into canonical ones and reports each.
    func finished(_ state: UnsafeMutableRawPointer?, _ first: Int, _ count: Int) {
        guard let state else { return }
        for index in first..<(first + count) {
            let segment = WhisperSegments.read(state, index, model: model.handle, words: wordTimestamps)
            let id = segments.withLockedValue { all -> Int? in
                guard !segment.text.isEmpty else { return nil }
                var segment = segment
                segment.id = all.count
                all.append(segment)
                return segment.id
            }
            if let id {
                events.continuation.yield(Event(percent: percent.withLockedValue { $0 }, segment: ProgressSegment(id: id, text: segment.text)))
            }
        }
    }
}

/// Calls `body` with a C string for `value`, or with nil.
func withOptionalCString<R>(_ value: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let value else { return body(nil) }
    return value.withCString { body($0) }
}
