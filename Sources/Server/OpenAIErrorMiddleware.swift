import Foundation
import Hummingbird
import NIOCore
import WhisperAPICore

/// Answers errors on the OpenAI routes in OpenAI's envelope: `{"error":{"message","type","param","code"}}`.
struct OpenAIErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    /// The form field each of our error codes is about.
    static let params: [String: String] = [
        ErrorCode.invalidModel: "model", .invalidFormat: "response_format", .invalidTimestampGranularities: "timestamp_granularities[]",
        .invalidStream: "stream", .invalidTask: "model", .invalidLanguage: "language", .invalidPrompt: "prompt", .missingFile: "file",
        .emptyFile: "file", .fileTooLarge: "file", .unsupportedMediaType: "file", .modelNotInPlan: "model",
    ].reduce(into: ["INVALID_AUDIO": "file"]) { $0[$1.key.rawValue] = $1.value }

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
        let type = error.statusCode >= 500 ? "server_error" : "invalid_request_error"
        return Body(error: .init(message: message, type: type, param: params[error.code], code: error.code.lowercased()))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            var response = try JSONBody.response(error.status, Self.body(for: error))
            response.headers.append(contentsOf: error.fields)
            return response
        }
    }
}
