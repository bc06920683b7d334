import Foundation
import Hummingbird

/// An error the API reports as `{success:false, error:{code, message}}`, with its code's status.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let errorCode: ErrorCode
    public let message: String
    /// Valid choices for a rejected parameter, shown to the client.
    public var allowed: [String]?
    public var headers: HTTPFields = [:]

    /// The code as clients see it.
    public var code: String { errorCode.rawValue }

    /// An error with its code's status (`status` only where an HTTP error of the framework is passed on).
    public init(_ code: ErrorCode, _ message: String, allowed: [String]? = nil, status: HTTPResponse.Status? = nil) {
        self.status = status ?? code.status
        self.errorCode = code
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
    static let missingKey = APIError(.unauthorized, "Authorization: Bearer <api key> is required")
    static let invalidKey = APIError(.invalidAPIKey, "the API key is malformed, unknown or revoked")
    static let notFound = APIError(.notFound, "transcription not found")
    static let forbidden = APIError(.forbidden, "this route needs an admin key")

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
