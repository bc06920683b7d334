import Foundation
import Hummingbird
import Limits
import NIOHTTP1
import Persistence
import RedisClient
import WhisperAPICore

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
        var response = JSONBody.response(status, Body(error: .init(code: code, message: message, allowed: allowed)))
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

/// Turns every error into the envelope; anything unexpected becomes a bare 500 and a log line.
struct ErrorEnvelopeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch is RedisConnectionError {
            context.logger.warning("the queue's Redis server is unreachable")
            throw APIError(.serviceUnavailable, "QUEUE_UNAVAILABLE", "the queue is unavailable; try again shortly")
        } catch let error as StorageUnavailable {
            context.logger.warning("object storage unavailable", metadata: ["reason": "\(error.description)"])
            throw APIError(.serviceUnavailable, "STORAGE_UNAVAILABLE", "file storage is unavailable; try again shortly")
        } catch let error where DatabaseHandle.isUnavailable(error) {
            context.logger.warning("the database is unreachable", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            throw APIError(.serviceUnavailable, "DATABASE_UNAVAILABLE", "the database is unavailable; try again shortly")
        } catch is RedisLimitError {
            context.logger.warning("the limits' Redis server did not answer in time")
            throw APIError(.serviceUnavailable, "LIMITS_UNAVAILABLE", "the service is busy; try again shortly")
        } catch is HTTPParserError {
            // Malformed framing (a bad chunk size, a broken header) is the client's fault, never a 5xx.
            throw APIError.badRequest("MALFORMED_REQUEST", "the request's HTTP framing is malformed")
        } catch let error as HTTPError {
            let code = switch error.status.code {
            case 404: "NOT_FOUND"
            case 405: "METHOD_NOT_ALLOWED"
            case 413: "PAYLOAD_TOO_LARGE"
            case 400..<500: "BAD_REQUEST"
            default: "INTERNAL_ERROR"
            }
            throw APIError(error.status, code, error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            throw APIError(.internalServerError, "INTERNAL_ERROR", "an internal error occurred")
        }
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
