import Foundation
@testable import Engine
import Testing
import WhisperAPICore

@Suite struct ResultRendererTests {
    let result = TranscriptResult(
        text: "Hello there. General Kenobi.", language: "en", duration: 3725.5, model: "tiny.en",
        segments: [
            .init(id: 0, start: 0, end: 1.5, text: " Hello there."),
            .init(id: 1, start: 1.5, end: 2.0, text: "   "),
            .init(id: 2, start: 3599.9996, end: 3725.25, text: "General Kenobi."),
        ])

    @Test func timestampsRoundToTheMillisecondAndRollOverHours() {
        #expect(ResultRenderer.timestamp(0, separator: ",") == "00:00:00,000")
        #expect(ResultRenderer.timestamp(59.9996, separator: ",") == "00:01:00,000")
        #expect(ResultRenderer.timestamp(3599.9996, separator: ".") == "01:00:00.000")
        #expect(ResultRenderer.timestamp(3725.25, separator: ".") == "01:02:05.250")
        #expect(ResultRenderer.timestamp(360_000, separator: ",") == "100:00:00,000")
        #expect(ResultRenderer.timestamp(-1, separator: ",") == "00:00:00,000")
    }

    @Test func srtNumbersCuesFromOneAndSkipsEmptySegments() {
        let srt = ResultRenderer.render(result, as: .srt).body
        #expect(srt == """
            1
            00:00:00,000 --> 00:00:01,500
            Hello there.

            2
            01:00:00,000 --> 01:02:05,250
            General Kenobi.

            """)
    }

    @Test func vttHasHeaderAndDotMilliseconds() {
        let vtt = ResultRenderer.render(result, as: .vtt)
        #expect(vtt.contentType.hasPrefix("text/vtt"))
        #expect(vtt.body.hasPrefix("WEBVTT\n\n"))
        #expect(vtt.body.contains("01:00:00.000 --> 01:02:05.250\nGeneral Kenobi.\n"))
        #expect(!vtt.body.contains(","))
    }

    @Test func noSegmentsGiveEmptyButValidDocuments() {
        let empty = TranscriptResult(text: "", language: "en", duration: 1, model: "tiny.en", segments: [])
        #expect(ResultRenderer.render(empty, as: .srt).body == "")
        #expect(ResultRenderer.render(empty, as: .vtt).body == "WEBVTT\n")
        #expect(ResultRenderer.render(empty, as: .text).body == "\n")
    }

    @Test func cueTextCannotBreakTheCueSyntax() {
        let tricky = TranscriptResult(
            text: "", language: "en", duration: 1, model: "tiny.en",
            segments: [.init(id: 0, start: 0, end: 1, text: "a --> b\n\nc")])
        let srt = ResultRenderer.render(tricky, as: .srt).body
        #expect(srt.components(separatedBy: "-->").count == 2)
        #expect(!srt.contains("\n\nc"))
    }

    @Test func jsonFormatsCarryTextAndSegments() throws {
        #expect(ResultRenderer.render(result, as: .json).body == #"{"text":"Hello there. General Kenobi."}"#)
        let verbose = ResultRenderer.render(result, as: .verboseJSON).body
        #expect(verbose.contains(#""task":"transcribe""#))
        #expect(verbose.contains(#""duration":3725.5"#))
        #expect(verbose.contains(#""no_speech_prob""#))
    }
}

@Suite struct DiarizedRenderingTests {
    let result = TranscriptResult(
        text: "Hi there. How are you? Fine, thanks.", language: "en", duration: 6, model: "tiny.en",
        segments: [
            .init(id: 0, start: 0, end: 1, text: "Hi there.", words: [.init(word: "Hi", start: 0, end: 0.4, speaker: "SPEAKER_1")], speaker: "SPEAKER_1"),
            .init(id: 1, start: 1.2, end: 2, text: "How are you?", speaker: "SPEAKER_1"),
            .init(id: 2, start: 2.5, end: 4, text: "Fine, thanks.", speaker: "Ann>e"),
        ],
        speakers: [.init(speaker: "SPEAKER_1", speakingTime: 1.8), .init(speaker: "Ann>e", speakingTime: 1.5)])

    @Test func srtAndVttNameTheSpeakerOfEachCue() {
        #expect(ResultRenderer.render(result, as: .srt).body.contains("00:00:01,200 --> 00:00:02,000\nSPEAKER_1: How are you?\n"))
        let vtt = ResultRenderer.render(result, as: .vtt).body
        #expect(vtt.contains("00:00:00.000 --> 00:00:01.000\n<v SPEAKER_1>SPEAKER_1: Hi there.\n"))
        #expect(vtt.contains("<v Ann e>Ann>e: Fine, thanks."), "a '>' would end the voice tag")
    }

    @Test func textHasOneParagraphPerTurn() {
        #expect(ResultRenderer.render(result, as: .text).body == "SPEAKER_1: Hi there. How are you?\n\nAnn>e: Fine, thanks.\n")
    }

    @Test func verboseAndDiarizedJSONCarryTheSpeakers() throws {
        let verbose = try #require(try JSONSerialization.jsonObject(with: Data(ResultRenderer.render(result, as: .verboseJSON).body.utf8)) as? [String: Any])
        let speakers = try #require(verbose["speakers"] as? [[String: Any]])
        #expect(speakers.first?["speaker"] as? String == "SPEAKER_1" && speakers.first?["speaking_time"] as? Double == 1.8)
        #expect((verbose["segments"] as? [[String: Any]])?.map { $0["speaker"] as? String } == ["SPEAKER_1", "SPEAKER_1", "Ann>e"])
        #expect((verbose["words"] as? [[String: Any]])?.first?["speaker"] as? String == "SPEAKER_1")
        let diarized = try #require(try JSONSerialization.jsonObject(with: Data(ResultRenderer.render(result, as: .diarizedJSON).body.utf8)) as? [String: Any])
        let segments = try #require(diarized["segments"] as? [[String: Any]])
        // OpenAI's labels: letters by first appearance; a name the client gave stays.
        #expect(segments.map { $0["speaker"] as? String } == ["A", "A", "Ann>e"])
        #expect(segments.allSatisfy { $0["type"] as? String == "transcript.text.segment" } && diarized["task"] as? String == "transcribe")
    }

    @Test func openAILabelsRunPastZ() {
        #expect(DiarizedJSON.openAILabel("SPEAKER_1", position: 0) == "A")
        #expect(DiarizedJSON.openAILabel("SPEAKER_27", position: 26) == "AA")
        #expect(DiarizedJSON.openAILabel("Bob", position: 3) == "Bob")
    }

    @Test func anUndiarizedResultRendersAsBefore() {
        let plain = TranscriptResult(text: "Hi.", language: "en", duration: 1, model: "tiny.en", segments: [.init(id: 0, start: 0, end: 1, text: "Hi.")])
        #expect(ResultRenderer.render(plain, as: .text).body == "Hi.\n")
        #expect(ResultRenderer.render(plain, as: .srt).body == "1\n00:00:00,000 --> 00:00:01,000\nHi.\n")
    }
}
