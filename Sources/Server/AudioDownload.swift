import Foundation
import HTTPTypes
import Hummingbird
import Persistence
import WhisperAPICore

/// `GET /api/v1/transcriptions/:id/audio`: the uploaded audio, with HTTP range requests so a player can seek.
/// The bytes are streamed from storage in chunks, whatever the file's size.
struct AudioDownload {
    let storage: any ObjectStorage
    /// The most bytes read from storage at once.
    static let chunk: Int64 = 1 << 20

    /// A byte range `start...end` (inclusive) of a file of `size` bytes, from a `Range` header; nil when there is
    /// none or it is not a single bytes range (the whole file is sent then). Throws 416 when it cannot be satisfied.
    static func range(_ header: String?, size: Int64) throws -> ClosedRange<Int64>? {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else { return nil }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        let unsatisfiable = APIError(.rangeNotSatisfiable, "the file has \(size) bytes")
        if parts[0].isEmpty {
            guard let suffix = Int64(parts[1]), suffix > 0, size > 0 else { throw unsatisfiable }
            return max(0, size - suffix)...(size - 1)
        }
        guard let start = Int64(parts[0]), start >= 0 else { return nil }
        guard start < size else { throw unsatisfiable }
        let end = parts[1].isEmpty ? size - 1 : Int64(parts[1]).map { min($0, size - 1) }
        guard let end, end >= start else { return nil }
        return start...end
    }

    func serve(_ row: Transcription, request: Request) async throws -> Response {

        let key = row.audioKey
        guard let head = try await storage.read(key: key, offset: 0, length: Int64(AudioSniffer.prefixLength)) else {
            throw APIError(.audioMissing, "the uploaded audio is no longer stored")
        }
        let size = row.fileSize
        var headers: HTTPFields = [
            .contentType: Self.contentType(AudioSniffer.detect(Array(head))), .acceptRanges: "bytes", .cacheControl: "private, max-age=3600",
        ]
        let requested = try Self.range(request.headers[.range], size: size)
        let range = requested ?? 0...(size - 1)
        headers[.contentLength] = String(size == 0 ? 0 : range.count)
        if requested != nil { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)" }
        let body = ResponseBody { writer in
            var offset = range.lowerBound
            while size > 0, offset <= range.upperBound {
                let length = min(Self.chunk, range.upperBound - offset + 1)
                guard let data = try await storage.read(key: key, offset: offset, length: length), !data.isEmpty else { break }
                try await writer.write(ByteBuffer(bytes: data))
                offset += Int64(data.count)
            }
            try await writer.finish(nil)
        }
        return Response(status: requested == nil ? .ok : .partialContent, headers: headers, body: body)
    }

    static func contentType(_ container: AudioSniffer.Container?) -> String {
        switch container {
        case .wav: "audio/wav"
        case .mp3: "audio/mpeg"
        case .aac: "audio/aac"
        case .ogg: "audio/ogg"
        case .flac: "audio/flac"
        case .mp4: "audio/mp4"
        case .webm: "audio/webm"
        case nil: "application/octet-stream"
        }
    }
}
