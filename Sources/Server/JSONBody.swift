import Foundation
import Hummingbird

/// The seed's success envelope, `{"success": true, "data": …}`: handlers return it and Hummingbird encodes it with the
/// context's response encoder (`JSONBody.encoder`). A value that cannot be encoded is an error, never an empty 2xx.
struct Success<Payload: Encodable & Sendable>: ResponseEncodable, Sendable {
    let success = true
    let data: Payload

    init(_ data: Payload) {
        self.data = data
    }

    /// The envelope answered with another status than 200 (`201 Created`, `202 Accepted`).
    static func with(_ status: HTTPResponse.Status, _ data: Payload) -> EditedResponse<Success<Payload>> {
        EditedResponse(status: status, response: Success(data))
    }

    private enum CodingKeys: String, CodingKey { case success, data }
}

/// The service's JSON encoder (ISO 8601 dates, sorted keys), also the request context's `responseEncoder`; and JSON
/// answers built outside a handler's return value (errors, OpenAI's shapes).
enum JSONBody {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func response<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) throws -> Response {
        response(status, body: ByteBuffer(bytes: try encoder.encode(value)))
    }

    /// A JSON answer of bytes encoded before.
    static func response(_ status: HTTPResponse.Status, body: ByteBuffer) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: body))
    }
}
