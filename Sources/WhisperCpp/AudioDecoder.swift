import Foundation
import WhisperAPICore

/// Decodes any audio or video file to 16 kHz mono float samples with the `ffmpeg` program (Debian's), so the
/// whisper.cpp engine needs no Python.
struct AudioDecoder: Sendable {
    /// Whisper's sample rate.
    static let sampleRate = 16_000
    /// The ffmpeg program: a path, or a name looked up on `PATH`.
    let ffmpeg: String

    /// The file's samples. Throws `INVALID_AUDIO` when ffmpeg cannot decode it, `ENGINE_UNAVAILABLE` when there is no
    /// ffmpeg; cancelling the task stops ffmpeg.
    func decode(_ path: String) async throws -> [Float] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", path, "-vn", "-ac", "1", "-ar", String(Self.sampleRate),
            "-f", "f32le", "-",
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { process in
            exited.continuation.yield(process.terminationStatus)
            exited.continuation.finish()
        }
        try process.run()
        return try await withTaskCancellationHandler {
            // Both pipes are read to their end while ffmpeg runs, so neither can fill up and stall it.
            async let audio = Self.readAll(output.fileHandleForReading)
            async let messages = Self.readAll(errors.fileHandleForReading)
            let (data, message) = await (audio, messages)
            var status: Int32 = -1
            for await code in exited.stream { status = code }
            try Task.checkCancellation()
            if status == 127 {
                throw TranscriptionFailure(code: "ENGINE_UNAVAILABLE", message: "ffmpeg is not installed (the whisper.cpp engine decodes audio with it)")
            }
            guard status == 0, !data.isEmpty else {
                let reason = String(decoding: message, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "no audio stream"
                throw TranscriptionFailure(code: "INVALID_AUDIO", message: "the file could not be decoded as audio (\(Self.withoutPath(reason, path)))")
            }
            let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            try await checkComplete(samples, path)
            return samples
        } onCancel: {
            if process.isRunning { process.terminate() }
        }
    }

    /// The shortest audio worth a run, as the faster-whisper engine has it (`engine/runner.py`).
    static let minimumSeconds = 0.1

    /// Refuses audio that is empty, or less than half of what the file's header declares (a truncated upload), with
    /// the faster-whisper engine's rules and messages.
    private func checkComplete(_ samples: [Float], _ path: String) async throws {
        let decoded = Double(samples.count) / Double(Self.sampleRate)
        if decoded < Self.minimumSeconds {
            throw TranscriptionFailure(code: "INVALID_AUDIO", message: "audio is empty or truncated: only \(String(format: "%.3f", decoded)) s could be decoded")
        }
        if let declared = await declaredDuration(path), declared > 1, decoded < declared * 0.5 {
            throw TranscriptionFailure(
                code: "INVALID_AUDIO",
                message: "audio is truncated: \(String(format: "%.1f", decoded)) s of the declared \(String(format: "%.1f", declared)) s could be decoded")
        }
    }

    /// The duration the container's header claims (ffprobe, beside ffmpeg), when it claims one.
    private func declaredDuration(_ path: String) async -> Double? {
        // ffprobe comes with ffmpeg: beside it when ffmpeg is given as a path, else on PATH.
        let probe = ffmpeg.contains("/") ? URL(fileURLWithPath: ffmpeg).deletingLastPathComponent().appendingPathComponent("ffprobe").path : "ffprobe"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [probe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path]
        let output = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = await Self.readAll(output.fileHandleForReading)
        process.waitUntilExit()
        return Double(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// ffmpeg's message names the file by its local path; the user sees their upload's problem without it.
    private static func withoutPath(_ message: String, _ path: String) -> String {
        message.replacingOccurrences(of: path, with: "the upload").trimmingCharacters(in: .whitespaces)
    }

    private static func readAll(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: (try? handle.readToEnd()) ?? Data())
            }
        }
    }
}
