import CWhisper
import Foundation
import WhisperAPICore

/// Reads whisper.cpp's segments and tokens into the canonical result's segments and words.
enum WhisperSegments {
    /// Segment `index` of a run's state: times in seconds (whisper counts hundredths), the text trimmed, the mean log
    /// probability of its text tokens, and its words when asked.
    static func read(_ state: UnsafeMutableRawPointer, _ index: Int, model: UnsafeMutableRawPointer, words: Bool) -> TranscriptResult.Segment {
        let segment = Int32(index)
        let start = seconds(wa_segment_t0(state, segment))
        let end = max(start, seconds(wa_segment_t1(state, segment)))
        let tokens = (0..<wa_token_count(state, segment)).map { wa_token_at(model, state, segment, $0) }.filter { !$0.special }
        let logprobs = tokens.map { Double($0.plog) }
        return TranscriptResult.Segment(
            id: index, start: start, end: end,
            text: String(cString: wa_segment_text(state, segment)).trimmingCharacters(in: .whitespacesAndNewlines),
            avgLogprob: logprobs.isEmpty ? nil : logprobs.reduce(0, +) / Double(logprobs.count),
            noSpeechProb: Double(wa_segment_no_speech_prob(state, segment)),
            words: words ? self.words(tokens, within: start...end) : nil)
    }

    /// Tokens joined into words: a token that begins with a space starts a new word. Bytes are joined before they are
    /// read as UTF-8, since one character may be split over two tokens. A word's probability is its tokens' mean.
    static func words(_ tokens: [wa_token], within bounds: ClosedRange<Double>) -> [TranscriptResult.Word] {
        var words: [TranscriptResult.Word] = []
        var bytes: [UInt8] = []
        var probabilities: [Double] = []
        var start = bounds.lowerBound
        var end = bounds.lowerBound
        func flush() {
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if !text.isEmpty {
                let probability = probabilities.reduce(0, +) / Double(max(1, probabilities.count))
                words.append(TranscriptResult.Word(word: text, start: start, end: max(start, end), probability: (probability * 1000).rounded() / 1000))
            }
            bytes = []
            probabilities = []
        }
        for token in tokens {
            guard let text = token.text else { continue }
            let piece = Array(UnsafeRawBufferPointer(start: text, count: strlen(text)))
            if piece.first == UInt8(ascii: " ") || bytes.isEmpty {
                flush()
                start = clamp(seconds(token.t0), bounds)
            }
            bytes += piece
            probabilities.append(Double(token.p))
            end = clamp(seconds(token.t1), bounds)
        }
        flush()
        return words
    }

    private static func seconds(_ hundredths: Int64) -> Double { Double(hundredths) / 100 }

    private static func clamp(_ value: Double, _ bounds: ClosedRange<Double>) -> Double {
        min(max(value, bounds.lowerBound), bounds.upperBound)
    }
}
