import Foundation
import Hummingbird
import Limits
import NIOHTTP1
import Persistence
import RedisClient
import WhisperAPICore

/// JSON responses with the service's encoder.
enum JSONBody {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func response<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The seed's success envelope: `{success:true, data:…}`.
    static func success<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        response(status, Envelope(data: value))
    }

    struct Envelope<T: Encodable>: Encodable {
        let success = true
        let data: T
    }
}
