/// An error the API reports as `{success:false, error:{code, message}}` with its code's status. The use cases throw
/// it; the server renders it (in OpenAI's envelope on the OpenAI routes).
public struct APIError: Error, Sendable {
    public let errorCode: ErrorCode
    /// The HTTP status: the code's, or the framework's where an HTTP error of the framework is passed on.
    public let statusCode: Int
    public let message: String
    /// Valid choices for a rejected parameter, shown to the client.
    public var allowed: [String]?
    /// Headers the answer carries (`Retry-After`, the rate-limit headers).
    public var headers: [String: String] = [:]

    /// The code as clients see it.
    public var code: String { errorCode.rawValue }

    /// An error with its code's status (`status` only where an HTTP error of the framework is passed on).
    public init(_ code: ErrorCode, _ message: String, allowed: [String]? = nil, status: Int? = nil) {
        self.statusCode = status ?? code.status
        self.errorCode = code
        self.message = message
        self.allowed = allowed
    }
}

extension APIError {
    public static let missingKey = APIError(.unauthorized, "Authorization: Bearer <api key> is required")
    public static let invalidKey = APIError(.invalidAPIKey, "the API key is malformed, unknown or revoked")
    public static let notFound = APIError(.notFound, "transcription not found")
    public static let forbidden = APIError(.forbidden, "this route needs an admin key")
}
