import Foundation
import WhisperAPICore

/// Renders the canonical result in the formats clients ask for.
public enum ResultRenderer {
    /// A rendered body and its content type.
    public struct Rendered: Sendable {
        public var body: String
        public var contentType: String
    }

    /// Renders `result` as `format`.
    public static func render(_ result: TranscriptResult, as format: ResultFormat) -> Rendered {
        switch format {
        case .text: Rendered(body: result.text + "\n", contentType: "text/plain; charset=utf-8")
        case .srt: Rendered(body: srt(result.segments), contentType: "application/x-subrip; charset=utf-8")
        case .vtt: Rendered(body: vtt(result.segments), contentType: "text/vtt; charset=utf-8")
        case .json: Rendered(body: encode(["text": result.text]), contentType: "application/json")
        case .verboseJSON: Rendered(body: encode(VerboseJSON(result)), contentType: "application/json")
        }
    }

    /// SubRip: numbered cues with `HH:MM:SS,mmm` times; segments without text are skipped.
    public static func srt(_ segments: [TranscriptResult.Segment]) -> String {
        cues(segments).enumerated().map { index, segment in
            "\(index + 1)\n\(timestamp(segment.start, separator: ",")) --> \(timestamp(segment.end, separator: ","))\n\(segment.text)\n"
        }.joined(separator: "\n")
    }

    /// WebVTT: a `WEBVTT` header and cues with `HH:MM:SS.mmm` times.
    public static func vtt(_ segments: [TranscriptResult.Segment]) -> String {
        let body = cues(segments).map { segment in
            "\(timestamp(segment.start, separator: ".")) --> \(timestamp(segment.end, separator: "."))\n\(segment.text)\n"
        }
        return (["WEBVTT\n"] + body).joined(separator: "\n")
    }

    /// `HH:MM:SS<sep>mmm`, rounded to the millisecond first so 59.9996 s becomes 00:01:00.000.
    public static func timestamp(_ seconds: Double, separator: String) -> String {
        let total = max(0, Int((seconds * 1000).rounded()))
        let hours = total / 3_600_000
        let minutes = total / 60_000 % 60
        let secs = total / 1000 % 60
        let millis = total % 1000
        return String(format: "%02d:%02d:%02d%@%03d", hours, minutes, secs, separator, millis)
    }

    static func cues(_ segments: [TranscriptResult.Segment]) -> [TranscriptResult.Segment] {
        segments.compactMap { segment in
            let text = segment.text.trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: "\n\n", with: "\n")
                .replacingOccurrences(of: "-->", with: "->")
            guard !text.isEmpty else { return nil }
            var cue = segment
            cue.text = text
            cue.end = max(segment.end, segment.start)
            return cue
        }
    }

    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// OpenAI's `verbose_json` shape.
struct VerboseJSON: Encodable {
    struct Segment: Encodable {
        var id: Int
        var seek: Int
        var start: Double
        var end: Double
        var text: String
        var tokens: [Int]
        var temperature: Double
        var avg_logprob: Double
        var compression_ratio: Double
        var no_speech_prob: Double
    }

    var task: String
    var language: String
    var duration: Double
    var text: String
    var segments: [Segment]
    var words: [TranscriptResult.Word]?

    init(_ result: TranscriptResult) {
        task = result.task ?? "transcribe"
        language = result.language ?? "en"
        duration = result.duration
        text = result.text
        segments = result.segments.map {
            Segment(
                id: $0.id, seek: 0, start: $0.start, end: $0.end, text: $0.text, tokens: [], temperature: 0,
                avg_logprob: $0.avgLogprob ?? 0, compression_ratio: 0, no_speech_prob: $0.noSpeechProb ?? 0)
        }
        let allWords = result.segments.compactMap(\.words).flatMap { $0 }
        words = allWords.isEmpty ? nil : allWords
    }
}
