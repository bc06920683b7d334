import Hummingbird
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import WhisperAPICore

/// Counts the requests being answered, so that a stopping server can say how many it waits for.
final class InFlightRequests: Sendable {
    private let count = NIOLockedValueBox(0)

    var current: Int { count.withLockedValue { $0 } }

    func started() { count.withLockedValue { $0 += 1 } }
    func ended() { count.withLockedValue { $0 -= 1 } }
}

/// Counts a request from its start until its response body has been written (a streamed upload or download included).
struct InFlightMiddleware<Context: RequestContext>: RouterMiddleware {
    let requests: InFlightRequests

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        requests.started()
        do {
            var response = try await next(request, context)
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { requests.ended() }
                try await body.write(writer)
            }
            return response
        } catch {
            requests.ended()
            throw error
        }
    }
}

/// Says, when a stop begins, what the API server waits for; runs before the server's own graceful shutdown.
struct StopNotice: Service {
    let requests: InFlightRequests
    let grace: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.info("stopping: accepting no new connections; finishing in-flight requests (uploads included)", metadata: [
            "requests": "\(requests.current)", "graceSeconds": "\(grace.components.seconds)",
        ])
    }
}

/// Serves the API (and the in-process worker, `workers` slots) until SIGTERM or SIGINT, then stops gracefully: the
/// server stops accepting and finishes in-flight requests, the worker drains its jobs (each for up to
/// `SHUTDOWN_GRACE_SECONDS`); whatever is still open after that is cancelled.
public func serveUntilStopped(backend: Backend, workers: Int, logger: Logger) async throws {
    let requests = InFlightRequests()
    let grace = backend.configuration.shutdownGrace
    let tracing = try TracingSetup.bootstrap(serviceName: "whisperapi")
    let application = buildApplication(backend: backend, workers: workers, logger: logger, requests: requests)
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: application), .init(service: StopNotice(requests: requests, grace: grace, logger: logger)),
    ]
    // First in the group, so stopped last: spans of the last requests and jobs are flushed.
    if let tracing { services.insert(.init(service: tracing), at: 0) }
    var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = grace * 2 + .seconds(10)
    try await ServiceGroup(configuration: configuration).run()
}
