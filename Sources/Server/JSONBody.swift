import Foundation
import Hummingbird

/// JSON responses with the service's encoder (also the request context's `responseEncoder`, so a handler that returns
/// an `Encodable` value gets the same JSON). A value that cannot be encoded is an error, never an empty 2xx.
enum JSONBody {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func response<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The seed's success envelope: `{success:true, data:…}`.
    static func success<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        try response(status, Envelope(data: value))
    }

    struct Envelope<T: Encodable>: Encodable {
        let success = true
        let data: T
    }
}
