import Engine
import Foundation
import Hummingbird
import Limits
import Logging
import RedisClient
import ServiceLifecycle
import Services
import Storage
import Telemetry
import Webhooks
import WhisperCpp
import Worker
import WhisperAPICore

/// Builds the router with every route and middleware.
public func buildRouter(backend: Backend) -> Router<AppRequestContext> {
    buildRouter(backend: backend, requests: InFlightRequests())
}

/// The router, counting its in-flight requests in `requests` (what a graceful stop waits for).
func buildRouter(backend: Backend, requests: InFlightRequests) -> Router<AppRequestContext> {
    let identities = IdentityCache(notices: backend.credentialNotices, lifetime: backend.configuration.keyCacheLifetime)
    MetricsExport.bootstrap()
    MetricSeries.registerAPI()
    let router = Router(context: AppRequestContext.self)
    let routeTable = MethodNotAllowedMiddleware<AppRequestContext>.RouteTable()
    if TracingSetup.isEnabled() {
        // A span per request (continuing a caller's `traceparent`); a signed download's signature stays out of it.
        router.add(middleware: TracingMiddleware(redactingQueryParameters: ["signature", "X-Amz-Signature", "X-Amz-Credential"]))
    }
    router.add(middleware: InFlightMiddleware(requests: requests))
    router.add(middleware: RequestIdMiddleware())
    router.add(middleware: AccessLogMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorResponseMiddleware())
    router.add(middleware: ErrorEnvelopeMiddleware())
    router.add(middleware: DashboardMiddleware(files: DashboardFiles(root: backend.configuration.dashboardRoot, logger: Logger(label: "whisperapi.dashboard"))))
    router.add(middleware: MethodNotAllowedMiddleware(table: routeTable))
    router.get("health") { _, _ in ["status": "ok"] }
    router.addMetricsRoute(queue: backend.queue)
    let readiness = Readiness(database: backend.database, queue: backend.queue, storage: backend.storage)
    router.get("ready") { _, context -> Response in try await readiness.response(logger: context.logger) }
    if let local = backend.storage as? LocalObjectStorage {
        // Signed download URLs carry their own authorization: no API key.
        router.get(RouterPath(LocalObjectStorage.downloadPath)) { request, _ -> Response in
            try await signedDownload(request, storage: local)
        }
    }
    router.get("openapi.json") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
    }
    let limits = RateLimitMiddleware(limiter: backend.rateLimiter, policy: backend.configuration.planPolicy)
    let authenticate = AuthMiddleware(
        users: backend.users, sessions: backend.sessions, identities: identities, publicURL: backend.configuration.publicURL)
    let configuration = backend.configuration
    SessionRoutes(users: backend.users, sessions: backend.sessions, configuration: configuration, diarization: backend.diarization)
        .register(open: router.group(), authenticated: router.group().add(middleware: authenticate))
    let api = router.group("api/v1").add(middleware: authenticate).add(middleware: limits)
    TranscriptionRoutes(
        transcriptions: backend.transcriptions, batches: backend.batches, storage: backend.storage, submission: backend.submission,
        jobControl: backend.jobControl, maxUploadBytes: configuration.maxUploadBytes,
        fetcher: AudioURLFetcher(allowPrivate: configuration.intakeAllowPrivate, timeout: configuration.intakeTimeout)
    ).register(on: api)
    WebhookRoutes(
        users: backend.users, transcriptions: backend.transcriptions, attemptLog: backend.webhookAttempts,
        targets: WebhookTargetCheck(allowPrivate: configuration.webhookAllowPrivate), notices: backend.credentialNotices
    ).register(on: api)
    UsageRoutes(administration: backend.administration).register(on: api)
    AdminRoutes(actions: backend.administration).register(on: api.group("admin").add(middleware: AdminOnlyMiddleware()))
    // OpenAI's routes answer errors in OpenAI's envelope (the inner middleware maps every error to an APIError first).
    let openAI = router.group("v1")
        .add(middleware: OpenAIErrorMiddleware())
        .add(middleware: ErrorEnvelopeMiddleware())
        .add(middleware: authenticate)
        .add(middleware: limits)
    OpenAIRoutes(
        transcriptions: backend.transcriptions, storage: backend.storage, submission: backend.submission,
        jobControl: backend.jobControl, maxUploadBytes: configuration.openAIMaxUploadBytes, jobTimeout: configuration.jobTimeout,
        engine: configuration.engine
    ).register(on: openAI)
    routeTable.load(router.routes.map { (method: $0.method.rawValue, path: $0.path.description) })
    return router
}

/// Builds the HTTP application and the services that run beside it.
///
/// - Parameters:
///   - workers: in-process worker slots; 0 runs the API only.
///   - requests: counts the requests being answered (what a graceful stop waits for).
public func buildApplication(backend: Backend, workers: Int, logger: Logger) -> some ApplicationProtocol {
    buildApplication(backend: backend, workers: workers, logger: logger, requests: InFlightRequests())
}

func buildApplication(backend: Backend, workers: Int, logger: Logger, requests: InFlightRequests) -> some ApplicationProtocol & Service {
    let configuration = backend.configuration
    var services: [any Service] = [
        BackendLifetime(backend: backend),
        CredentialFollower(notices: backend.credentialNotices),
        StatusSync(backend: backend, logger: logger),
        RetentionCleanup(backend: backend, logger: logger),
        WebhookDispatcher(
            queue: backend.webhooks, users: backend.users, attempts: backend.webhookAttempts,
            targets: OutboundTargetPolicy(allowPrivate: configuration.webhookAllowPrivate, field: "webhook_url"), retry: configuration.webhookRetry,
            timeout: configuration.webhookTimeout, logger: logger),
    ]
    if workers > 0 {
        if let board = backend.diarizationBoard, configuration.workersCanDiarize {
            services.append(DiarizationHeartbeat(board: board, logger: logger))
        }
        let handOver = JobHandOver(diarizes: configuration.workersCanDiarize, fleet: backend.diarization)
        services.append(buildWorker(configuration, leasing: backend.leasing, storage: backend.storage, concurrency: workers, handOver: handOver, logger: logger))
    }
    return Application(
        router: buildRouter(backend: backend, requests: requests),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "whisperapi"),
        services: services,
        logger: logger)
}

/// The worker pool: `concurrency` jobs at once, all on one engine (`WHISPER_ENGINE`): faster-whisper's process that
/// batches them together, or whisper.cpp in this process.
func buildWorker(
    _ configuration: ServiceConfiguration, leasing: any JobLeasing, storage: any ObjectStorage, concurrency: Int, handOver: JobHandOver,
    logger: Logger
) -> QueueWorker {
    MetricSeries.registerWorker(engine: configuration.engine.rawValue)
    return QueueWorker(
        leasing: leasing, processor: TranscriptionProcessor(storage: storage), concurrency: concurrency,
        lockDuration: configuration.lockDuration, jobTimeout: configuration.jobTimeout, shutdownGrace: configuration.shutdownGrace, logger: logger,
        transcriber: buildTranscriber(configuration, logger: logger), handOver: handOver)
}

/// The engine `WHISPER_ENGINE` names.
func buildTranscriber(_ configuration: ServiceConfiguration, logger: Logger) -> any Transcriber {
    switch configuration.engine {
    case .fasterWhisper:
        let engine = EngineConfiguration(
            python: configuration.pythonExecutable, root: configuration.engineRoot, threads: configuration.inferenceThreads,
            environment: ["DIARIZATION_MODEL": configuration.diarizationModel])
        return EngineProcess(configuration: engine, logger: logger)
    case .whisperCpp:
        let engine = WhisperCppConfiguration(
            library: configuration.whisperLibrary, modelDirectory: configuration.ggmlDirectory, weights: configuration.ggmlWeights,
            threads: configuration.inferenceThreads, beamSize: configuration.beamSize)
        return WhisperCppEngine(configuration: engine, logger: logger)
    }
}

/// A standalone worker process (`whisperapi worker`): the distributed queue and storage, no database.
public func buildWorkerProcess(_ configuration: ServiceConfiguration, concurrency: Int, logger: Logger) throws -> ServiceGroup {
    _ = try configuration.validated()
    guard let url = configuration.redisURL else {
        throw ConfigurationError(description: "whisperapi worker needs REDIS_URL; in embedded mode `whisperapi serve` runs the workers")
    }
    let (queue, leasing) = try Backend.openQueue(configuration, database: nil, logger: logger)
    let storage = try Backend.openStorage(configuration)
    MetricsExport.bootstrap()
    let tracing = try TracingSetup.bootstrap(serviceName: "whisperapi-worker")
    // Every worker reads which workers can diarize (to leave diarized jobs to them); those that can also claim it.
    var redis = try RedisConfiguration(url: url)
    redis.clientName = "whisperapi-worker-capabilities"
    let client = RedisClient(configuration: redis, poolSize: 1, logger: logger)
    let board = RedisDiarizationBoard(client: client, prefix: configuration.sharedKeyPrefix)
    let handOver = JobHandOver(diarizes: configuration.workersCanDiarize, fleet: board)
    let worker = buildWorker(configuration, leasing: leasing, storage: storage, concurrency: concurrency, handOver: handOver, logger: logger)
    // Stopped in reverse order: the worker drains first, then the queue closes, the metrics answer to the end and
    // the spans are flushed last.
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: QueueLifetime(queue: queue)), .init(service: RedisClientLifetime(client: client)), .init(service: worker),
    ]
    if configuration.workersCanDiarize {
        services.insert(.init(service: DiarizationHeartbeat(board: board, logger: logger)), at: 2)
    }
    if let port = configuration.metricsPort {
        services.insert(.init(service: buildMetricsServer(host: configuration.host, port: port, logger: logger)), at: 0)
    }
    if let tracing { services.insert(.init(service: tracing), at: 0) }
    var group = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    group.maximumGracefulShutdownDuration = configuration.shutdownGrace + .seconds(10)
    return ServiceGroup(configuration: group)
}

/// A standalone worker's Prometheus endpoint: `GET /metrics` and `GET /health` on `port`, nothing else.
func buildMetricsServer(host: String, port: Int, logger: Logger) -> some Service {
    let router = Router()
    router.get("health") { _, _ in ["status": "ok"] }
    router.addMetricsRoute(queue: nil)
    return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "whisperapi-worker"), logger: logger)
}
