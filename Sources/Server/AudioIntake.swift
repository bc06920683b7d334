import Crypto
import WhisperAPICore

/// Audio bytes on their way to storage, from an upload or a download: counted against the size limit as they come,
/// their first bytes sniffed for a known container before anything is written, and, where an idempotency key asks
/// for it, hashed.
struct AudioIntake {
    let writer: any ObjectWriter
    let maxBytes: Int64
    private(set) var size: Int64 = 0
    private(set) var container: AudioSniffer.Container?
    /// Bytes held back until there are enough to sniff.
    private var pending: [UInt8] = []
    private var hasher: SHA256?

    /// SHA-256 of every byte taken so far, hex; nil when not hashing.
    var digest: String? { hasher.map { Array($0.finalize()).hexString } }

    init(writer: any ObjectWriter, maxBytes: Int64, hashing: Bool = false) {
        self.writer = writer
        self.maxBytes = maxBytes
        hasher = hashing ? SHA256() : nil
    }

    /// Takes the next bytes; throws 413 past the limit and 415 when the start is not audio.
    mutating func append(_ bytes: some Collection<UInt8>) async throws {
        size += Int64(bytes.count)
        if size > maxBytes { throw Self.tooLarge(maxBytes) }
        hasher?.update(data: Array(bytes))
        if container != nil {
            try await writer.write(Array(bytes))
        } else {
            pending.append(contentsOf: bytes)
            if pending.count >= AudioSniffer.prefixLength { try await sniff() }
        }
    }

    /// Writes what is held back (a file shorter than the sniffed prefix); throws 400 for no bytes at all.
    mutating func finish() async throws {
        guard size > 0 else { throw APIError(.emptyFile, "the uploaded file is empty") }
        if container == nil { try await sniff() }
    }

    private mutating func sniff() async throws {
        guard let found = AudioSniffer.detect(pending) else {
            throw APIError(.unsupportedMediaType, "the file is not a supported audio format", allowed: AudioSniffer.Container.allCases.map(\.rawValue))
        }
        container = found
        try await writer.write(pending)
        pending = []
    }

    static func tooLarge(_ limit: Int64) -> APIError {
        APIError(.fileTooLarge, limit >= 1_048_576 ? "the file is larger than the \(limit / 1_048_576) MB limit" : "the file is larger than the \(limit) byte limit")
    }
}
