/// Recognises audio containers from their first bytes, whatever the file is called.
public enum AudioSniffer {
    /// The containers the engine can decode.
    public enum Container: String, Sendable, CaseIterable {
        case wav, mp3, aac, ogg, flac, mp4, webm
    }

    /// How many leading bytes `detect` needs to decide.
    public static let prefixLength = 12

    /// The container of a file starting with `bytes`, or nil when it is not a supported audio format.
    public static func detect(_ bytes: [UInt8]) -> Container? {
        func ascii(_ range: Range<Int>) -> String? {
            guard bytes.count >= range.upperBound else { return nil }
            return String(decoding: bytes[range], as: UTF8.self)
        }
        if ascii(0..<4) == "RIFF", ascii(8..<12) == "WAVE" { return .wav }
        if ascii(0..<4) == "OggS" { return .ogg }
        if ascii(0..<4) == "fLaC" { return .flac }
        if ascii(4..<8) == "ftyp" { return .mp4 }
        if bytes.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return .webm }
        if ascii(0..<3) == "ID3" { return .mp3 }
        if bytes.count >= 2, bytes[0] == 0xFF, bytes[1] & 0xE0 == 0xE0 {
            // MPEG audio frame sync; layer bits 00 mark AAC in ADTS framing.
            return bytes[1] & 0x06 == 0 ? .aac : .mp3
        }
        return nil
    }
}
