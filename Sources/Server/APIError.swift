import Foundation
import Hummingbird

/// An error the API reports as `{success:false, error:{code, message}}` with a status code.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// Valid choices for a rejected parameter, shown to the client.
    public var allowed: [String]?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, allowed: [String]? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.allowed = allowed
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
        for field in headers { response.headers.append(field) }
        return response
    }
}

extension APIError {
    static let missingKey = APIError(.unauthorized, "UNAUTHORIZED", "Authorization: Bearer <api key> is required")
    static let invalidKey = APIError(.unauthorized, "INVALID_API_KEY", "the API key is malformed, unknown or revoked")
    static let notFound = APIError(.notFound, "NOT_FOUND", "transcription not found")
    static let forbidden = APIError(.forbidden, "FORBIDDEN", "this route needs an admin key")

    static func badRequest(_ code: String, _ message: String, allowed: [String]? = nil) -> APIError {
        APIError(.badRequest, code, message, allowed: allowed)
    }
}

extension Request {
    /// The JSON body as `T`, or 400 `INVALID_BODY` saying what is expected.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: some RequestContext, expected: String) async throws -> T {
        do {
            return try await decode(as: T.self, context: context)
        } catch {
            throw APIError.badRequest("INVALID_BODY", "the body must be JSON: \(expected)")
        }
    }
}
