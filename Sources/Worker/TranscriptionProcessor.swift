import Foundation
import Telemetry
import Tracing
import WhisperAPICore

/// Does one transcription job: audio from storage, the engine, the result back to storage.
public struct TranscriptionProcessor: Sendable {
    let storage: any ObjectStorage

    public init(storage: any ObjectStorage) {
        self.storage = storage
    }

    /// Runs the job on `transcriber` and returns the value every worker returns. With tracing on, the job is a span
    /// in the trace of the request that queued it, with the download, the engine run and the result upload inside.
    public func process(
        _ job: LeasedJob, transcriber: any Transcriber, onProgress: @escaping @Sendable (Int, ProgressSegment?) async -> Void
    ) async throws -> TranscriptionJobResult {
        let data = job.data
        return try await withSpan("transcription job", context: TraceContext.context(continuing: data.traceparent), ofKind: .consumer) { span in
            span.attributes["whisperapi.job.id"] = job.id
            span.attributes["whisperapi.job.attempt"] = job.attempt
            span.attributes["whisperapi.model"] = data.model
            let audio = try await withSpan("download audio") { _ in try await download(data.s3AudioUrl) }
            defer { if audio.isTemporary { try? FileManager.default.removeItem(atPath: audio.path) } }
            let request = TranscriptionRequest(
                id: job.id, audio: audio.path, model: data.model, language: data.language, task: data.task,
                prompt: data.prompt, wordTimestamps: data.wordTimestamps, textOnly: data.textOnly ?? false,
                vadFilter: data.vadFilter ?? true, diarize: data.diarize)
            let result = try await withSpan("engine run") { span in
                let started = ContinuousClock.now
                let result = try await transcriber.transcribe(request, onProgress: onProgress)
                let engine = result.engine ?? "unknown"
                EngineMetrics.transcribed(model: data.model, engine: engine, audioSeconds: result.duration, elapsed: ContinuousClock.now - started)
                span.attributes["whisperapi.engine"] = engine
                span.attributes["whisperapi.audio.seconds"] = result.duration
                return result
            }
            let key = StorageKeys.result(user: data.userId, transcription: data.transcriptionId)
            try await withSpan("upload result") { _ in
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try await storage.write(key: key, data: try encoder.encode(result))
            }
            return TranscriptionJobResult(
                s3ResultUrl: key, durationSeconds: result.duration,
                completedAt: Date().formatted(.iso8601), language: result.language)
        }
    }

    /// Deletes a result whose job was deleted while it ran.
    public func discard(_ result: TranscriptionJobResult) async {
        try? await storage.delete(key: result.s3ResultUrl)
    }

    /// The job's audio as a local file.
    func download(_ key: String) async throws -> LocalObjectFile {
        do {
            return try await storage.localFile(for: key)
        } catch is ObjectNotFound {
            throw TranscriptionFailure(code: "AUDIO_NOT_FOUND", message: "the uploaded audio is no longer in storage")
        }
    }
}
