import Engine
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
