import Foundation
import HTTPTypes
import Hummingbird
import WhisperAPICore

/// Use cases throw `APIError`; here it becomes an HTTP answer.
extension APIError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    /// The headers as HTTP fields (names that are not valid field names are dropped).
    var fields: HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        return fields
    }

    /// Adds HTTP fields to the headers the answer carries.
    mutating func add(_ fields: HTTPFields) {
        for field in fields { headers[field.name.canonicalName] = field.value }
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
            let allowed: [String]?
        }
        let success = false
        let error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONBody.response(status, Body(error: .init(code: code, message: message, allowed: allowed)))
        response.headers.append(contentsOf: fields)
        return response
    }
}

extension Request {
    /// The JSON body as `T`, or 400 `INVALID_BODY` saying what is expected.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: some RequestContext, expected: String) async throws -> T {
        do {
            return try await decode(as: T.self, context: context)
        } catch {
            throw APIError(.invalidBody, "the body must be JSON: \(expected)")
        }
    }
}
