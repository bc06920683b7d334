import Foundation
import Telemetry
import WhisperAPICore

/// Does one transcription job: audio from storage, the engine, the result back to storage.
public struct TranscriptionProcessor: Sendable {
    let storage: any ObjectStorage

    public init(storage: any ObjectStorage) {
        self.storage = storage
    }

    /// Runs the job on `transcriber` and returns the value every worker returns.
    public func process(
        _ job: LeasedJob, transcriber: any Transcriber, onProgress: @escaping @Sendable (Int, ProgressSegment?) async -> Void
    ) async throws -> TranscriptionJobResult {
        let data = job.data
        let audio: LocalObjectFile
        do {
            audio = try await storage.localFile(for: data.s3AudioUrl)
        } catch is ObjectNotFound {
            throw TranscriptionFailure(code: "AUDIO_NOT_FOUND", message: "the uploaded audio is no longer in storage")
        }
        defer { if audio.isTemporary { try? FileManager.default.removeItem(atPath: audio.path) } }
        let request = TranscriptionRequest(
            id: job.id, audio: audio.path, model: data.model, language: data.language, task: data.task,
            prompt: data.prompt, wordTimestamps: data.wordTimestamps, textOnly: data.textOnly ?? false)
        let started = ContinuousClock.now
        let result = try await transcriber.transcribe(request, onProgress: onProgress)
        EngineMetrics.transcribed(
            model: data.model, engine: result.engine ?? "unknown", audioSeconds: result.duration, elapsed: ContinuousClock.now - started)
        let key = StorageKeys.result(user: data.userId, transcription: data.transcriptionId)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try await storage.write(key: key, data: try encoder.encode(result))
        return TranscriptionJobResult(
            s3ResultUrl: key, durationSeconds: result.duration,
            completedAt: Date().formatted(.iso8601), language: result.language)
    }
}
