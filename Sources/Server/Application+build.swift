import Engine
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Worker
import WhisperAPICore

/// Builds the router with every route and middleware.
public func buildRouter(backend: Backend) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: ErrorEnvelopeMiddleware())
    router.get("health") { _, _ in JSONBody.response(.ok, ["status": "ok"]) }
    router.get("ready") { _, context -> Response in
        do {
            _ = try await backend.queue.getQueueStats()
            return JSONBody.response(.ok, ["status": "ready"])
        } catch {
            context.logger.warning("not ready", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "NOT_READY", "the database or queue is unavailable")
        }
    }
    let api = router.group("api/v1").add(middleware: AuthMiddleware(users: backend.users))
    TranscriptionRoutes(backend: backend).register(on: api)
    return router
}

/// Builds the HTTP application and the services that run beside it.
///
/// - Parameter workers: in-process worker slots; 0 runs the API only.
public func buildApplication(backend: Backend, workers: Int, logger: Logger) -> some ApplicationProtocol {
    let configuration = backend.configuration
    var services: [any Service] = [
        BackendLifetime(backend: backend),
        StatusSync(backend: backend, logger: logger),
        RetentionCleanup(backend: backend, logger: logger),
    ]
    if workers > 0 {
        let engine = EngineConfiguration(
            python: configuration.pythonExecutable, root: configuration.engineRoot,
            threads: configuration.threadsPerEngine)
        services.append(QueueWorker(
            leasing: backend.leasing, processor: TranscriptionProcessor(storage: backend.storage),
            concurrency: workers, lockDuration: configuration.lockDuration, jobTimeout: configuration.jobTimeout,
            engineConfiguration: engine, logger: logger))
    }
    return Application(
        router: buildRouter(backend: backend),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "whisperapi"),
        services: services,
        logger: logger)
}
