import Foundation
import Hummingbird
import NIOCore
import WhisperAPICore

/// Answers errors on the OpenAI routes in OpenAI's envelope: `{"error":{"message","type","param","code"}}`.
struct OpenAIErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    /// The form field each of our error codes is about.
    static let params = [
        "INVALID_MODEL": "model", "INVALID_FORMAT": "response_format", "INVALID_TIMESTAMP_GRANULARITIES": "timestamp_granularities[]",
        "INVALID_STREAM": "stream", "INVALID_TASK": "model", "INVALID_LANGUAGE": "language",
        "INVALID_PROMPT": "prompt", "MISSING_FILE": "file", "EMPTY_FILE": "file", "FILE_TOO_LARGE": "file",
        "UNSUPPORTED_MEDIA_TYPE": "file", "INVALID_AUDIO": "file", "MODEL_NOT_IN_PLAN": "model",
    ]

    struct Body: Encodable {
        struct Detail: Encodable {
            let message: String
            let type: String
            let param: String?
            let code: String
        }
        let error: Detail
    }

    /// OpenAI's error object for one of our errors.
    static func body(for error: APIError) -> Body {
        var message = error.message
        if let allowed = error.allowed { message += " (allowed: \(allowed.joined(separator: ", ")))" }
        let type = error.status.code >= 500 ? "server_error" : "invalid_request_error"
        return Body(error: .init(message: message, type: type, param: params[error.code], code: error.code.lowercased()))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            var response = try JSONBody.response(error.status, Self.body(for: error))
            for field in error.headers { response.headers.append(field) }
            return response
        }
    }
}
