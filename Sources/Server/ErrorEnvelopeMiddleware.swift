import Foundation
import Hummingbird
import Limits
import NIOHTTP1
import Persistence
import RedisClient
import Telemetry
import WhisperAPICore

/// Turns every error into the envelope; anything unexpected becomes a bare 500 and a log line.
struct ErrorEnvelopeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            if error.statusCode == 429 || error.code == ErrorCode.queueFull.rawValue { RequestMetrics.refused(code: error.code) }
            throw error
        } catch is RedisConnectionError {
            context.logger.warning("the queue's Redis server is unreachable")
            throw APIError(.queueUnavailable, "the queue is unavailable; try again shortly")
        } catch let error as StorageUnavailable {
            context.logger.warning("object storage unavailable", metadata: ["reason": "\(error.description)"])
            throw APIError(.storageUnavailable, "file storage is unavailable; try again shortly")
        } catch let error where DatabaseHandle.isUnavailable(error) {
            context.logger.warning("the database is unreachable", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            throw APIError(.databaseUnavailable, "the database is unavailable; try again shortly")
        } catch is RedisLimitError {
            context.logger.warning("the limits' Redis server did not answer in time")
            throw APIError(.limitsUnavailable, "the service is busy; try again shortly")
        } catch is HTTPParserError {
            // Malformed framing (a bad chunk size, a broken header) is the client's fault, never a 5xx.
            throw APIError(.malformedRequest, "the request's HTTP framing is malformed")
        } catch let error as HTTPError {
            let code: ErrorCode = switch error.status.code {
            case 404: .notFound
            case 405: .methodNotAllowed
            case 413: .payloadTooLarge
            case 400..<500: .badRequest
            default: .internalError
            }
            throw APIError(code, error.body ?? error.status.reasonPhrase, status: error.status.code)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            throw APIError(.internalError, "an internal error occurred")
        }
    }
}
