import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import WhisperAPICore

/// Answers a request whose path exists with another method 405 `METHOD_NOT_ALLOWED` and an `Allow` header,
/// instead of the router's 404.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The served routes' methods and path templates, filled in once every route is registered.
    final class RouteTable: Sendable {
        private let routes = NIOLockedValueBox<[(method: String, segments: [Substring])]>([])

        func load(_ list: [(method: String, path: String)]) {
            routes.withLockedValue { $0 = list.map { ($0.method, $0.path.split(separator: "/")) } }
        }

        /// The methods served at `path`, sorted.
        func methods(for path: String) -> [String] {
            let parts = path.split(separator: "/")
            return Set(routes.withLockedValue { $0 }.filter { route in
                route.segments.count == parts.count
                    && zip(route.segments, parts).allSatisfy { template, part in template.hasPrefix("{") || template.hasPrefix(":") || template == part }
            }.map(\.method)).sorted()
        }
    }

    let table: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = table.methods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method.rawValue) else { throw error }
            var refusal = APIError(.methodNotAllowed, "\(request.method.rawValue) is not served here", allowed: allowed)
            refusal.headers["Allow"] = allowed.joined(separator: ", ")
            throw refusal
        }
    }
}
