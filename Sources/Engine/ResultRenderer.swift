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
        case .text: Rendered(body: text(result), contentType: "text/plain; charset=utf-8")
        case .srt: Rendered(body: srt(result.segments), contentType: "application/x-subrip; charset=utf-8")
        case .vtt: Rendered(body: vtt(result.segments), contentType: "text/vtt; charset=utf-8")
        case .json: Rendered(body: encode(["text": result.text]), contentType: "application/json")
        case .verboseJSON: Rendered(body: encode(VerboseJSON(result)), contentType: "application/json")
        case .diarizedJSON: Rendered(body: encode(DiarizedJSON(result)), contentType: "application/json")
        }
    }

    /// The text; for a diarized job, one paragraph per speaker turn, each starting with its speaker (`SPEAKER_1: …`).
    public static func text(_ result: TranscriptResult) -> String {
        guard result.speakers != nil else { return result.text + "\n" }
        var turns: [(speaker: String, text: [String])] = []
        for segment in result.segments where !segment.text.isEmpty {
            let speaker = segment.speaker ?? ""
            if turns.last?.speaker == speaker {
                turns[turns.count - 1].text.append(segment.text)
            } else {
                turns.append((speaker, [segment.text]))
            }
        }
        return turns.map { "\($0.speaker): \($0.text.joined(separator: " "))\n" }.joined(separator: "\n")
    }

    /// SubRip: numbered cues with `HH:MM:SS,mmm` times, each prefixed with its speaker (`SPEAKER_1: `) when the job
    /// was diarized; segments without text are skipped.
    public static func srt(_ segments: [TranscriptResult.Segment]) -> String {
        cues(segments).enumerated().map { index, segment in
            let text = segment.speaker.map { "\($0): \(segment.text)" } ?? segment.text
            return "\(index + 1)\n\(timestamp(segment.start, separator: ",")) --> \(timestamp(segment.end, separator: ","))\n\(text)\n"
        }.joined(separator: "\n")
    }

    /// WebVTT: a `WEBVTT` header and cues with `HH:MM:SS.mmm` times; a diarized job's cues are voice spans
    /// (`<v SPEAKER_1>SPEAKER_1: …`), so players that know voices style them and others still show who speaks.
    public static func vtt(_ segments: [TranscriptResult.Segment]) -> String {
        let body = cues(segments).map { segment in
            let text = segment.speaker.map { "<v \(vttVoice($0))>\($0): \(segment.text)" } ?? segment.text
            return "\(timestamp(segment.start, separator: ".")) --> \(timestamp(segment.end, separator: "."))\n\(text)\n"
        }
        return (["WEBVTT\n"] + body).joined(separator: "\n")
    }

    /// A voice name as a cue tag annotation allows: no `>` (which ends the tag) or line break.
    static func vttVoice(_ name: String) -> String {
        String(name.map { $0 == ">" || $0.isNewline ? " " : $0 })
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
        var speaker: String?
    }

    var task: String
    var language: String
    var duration: Double
    var text: String
    var segments: [Segment]
    var words: [TranscriptResult.Word]?
    var speakers: [TranscriptResult.Speaker]?

    init(_ result: TranscriptResult) {
        speakers = result.speakers
        task = result.task ?? "transcribe"
        language = result.language ?? "en"
        duration = result.duration
        text = result.text
        segments = result.segments.map {
            Segment(
                id: $0.id, seek: 0, start: $0.start, end: $0.end, text: $0.text, tokens: [], temperature: 0,
                avg_logprob: $0.avgLogprob ?? 0, compression_ratio: 0, no_speech_prob: $0.noSpeechProb ?? 0, speaker: $0.speaker)
        }
        let allWords = result.segments.compactMap(\.words).flatMap { $0 }
        words = allWords.isEmpty ? nil : allWords
    }
}

/// OpenAI's `diarized_json` shape: the text, and segments with their speaker (`A`, `B`, … in order of first
/// appearance, as OpenAI labels them, or the names the client gave).
struct DiarizedJSON: Encodable {
    struct Segment: Encodable {
        let type = "transcript.text.segment"
        var id: String
        var start: Double
        var end: Double
        var text: String
        var speaker: String
    }

    struct Usage: Encodable {
        let type = "duration"
        var seconds: Double
    }

    let task = "transcribe"
    var duration: Double
    var text: String
    var segments: [Segment]
    var usage: Usage

    init(_ result: TranscriptResult) {
        duration = result.duration
        text = result.text
        usage = Usage(seconds: result.duration.rounded(.up))
        let order = (result.speakers ?? []).map(\.speaker)
        segments = result.segments.filter { !$0.text.isEmpty }.map { segment in
            let label = segment.speaker ?? "SPEAKER_1"
            return Segment(
                id: "seg_\(segment.id)", start: segment.start, end: segment.end, text: segment.text,
                speaker: Self.openAILabel(label, position: order.firstIndex(of: label) ?? 0))
        }
    }

    /// `SPEAKER_<n>` as a letter (`A` for the first speaker, `Z` then `AA`); a name the client gave stays.
    static func openAILabel(_ label: String, position: Int) -> String {
        guard label.hasPrefix("SPEAKER_"), Int(label.dropFirst("SPEAKER_".count)) != nil else { return label }
        var number = position
        var letters = ""
        repeat {
            letters = String(UnicodeScalar(UInt8(65 + number % 26))) + letters
            number = number / 26 - 1
        } while number >= 0
        return letters
    }
}
