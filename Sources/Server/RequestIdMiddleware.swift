import Foundation
import HTTPTypes
import Hummingbird
import Logging
import WhisperAPICore

/// Gives every request an id: the caller's `X-Request-Id` when it is a short token, else a new one. It is in every
/// log line of the request (`requestId`) and returned in the `X-Request-Id` header (errors are answers by then:
/// `ErrorResponseMiddleware` runs inside it).
struct RequestIdMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name("X-Request-Id")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = request.headers[Self.header].flatMap(Self.acceptable) ?? UUID().lowercasedString
        var context = context
        context.logger[metadataKey: "requestId"] = .string(id)
        var response = try await next(request, context)
        response.headers[Self.header] = id
        return response
    }

    /// A caller's id is kept when it is 1–64 ASCII letters, digits, `-`, `_` or `.` (it goes into logs as it is).
    static func acceptable(_ value: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".utf8)
        guard (1...64).contains(value.utf8.count), value.utf8.allSatisfy(allowed.contains) else { return nil }
        return value
    }
}

/// Turns a thrown HTTP error into its answer here, so that the middleware outside it (request ids, metrics) sees every
/// request end in a response with its status and timing.
struct ErrorResponseMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        }
    }
}

/// One log line per answered request: method, path (never the query, which may hold a download's signature), status,
/// duration, and the user when the request was authenticated.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var status = 500
        defer {
            var metadata: Logger.Metadata = [
                "method": .string(request.method.rawValue), "path": .string(request.uri.path), "status": .stringConvertible(status),
                "durationMs": .stringConvertible((ContinuousClock.now - started).wholeMilliseconds),
            ]
            if let userId = context.caller.id { metadata["userId"] = .string(userId) }
            context.logger.info("request", metadata: metadata)
        }
        let response = try await next(request, context)
        status = response.status.code
        return response
    }
}
