import Foundation

/// Every setting of the service, read from the environment (the same for every subcommand).
public struct ServiceConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Root of the embedded database, storage and engine scratch files.
    public var dataDirectory: String
    /// Jobs the in-process worker runs at once (`QUEUE_CONCURRENCY`), all in its one engine process; 0 runs the API only.
    public var workerConcurrency: Int
    public var retryPolicy: RetryPolicy
    /// How long a worker's lock lasts without renewal before the job is taken again.
    public var lockDuration: Duration
    /// How often the Redis queue's stalled-job sweep runs (`QUEUE_STALLED_INTERVAL`, ms).
    public var stalledInterval: Duration
    public var jobRetention: Duration
    public var failedJobRetention: Duration
    /// Largest accepted upload in bytes for any plan (`MAX_FILE_SIZE`, 1 GB); each plan's own limit applies below it.
    public var maxUploadBytes: Int64
    /// Each plan's limits (concurrency, request rate, upload size, monthly minutes, models).
    public var planPolicy: PlanPolicy
    /// The largest upload on the OpenAI-compatible routes (`OPENAI_MAX_FILE_SIZE`, OpenAI's 25 MB by default).
    public var openAIMaxUploadBytes: Int64
    /// The longest one engine run may take before it is killed.
    public var jobTimeout: Duration
    /// How often each API server sweeps finished jobs, idempotency keys, and audio and results past their plan's
    /// retention (`RETENTION_SWEEP_SECONDS`, default 600).
    public var retentionSweepInterval: Duration
    /// How long a stopping process waits for running jobs and in-flight requests (`SHUTDOWN_GRACE_SECONDS`, default 30)
    /// before it hands the jobs back to the queue and closes what is left.
    public var shutdownGrace: Duration
    /// A standalone worker's Prometheus port (`METRICS_PORT`; `whisperapi worker --metrics-port`); nil: none.
    public var metricsPort: Int?
    /// The repository root holding the `engine/` package.
    public var engineRoot: String
    /// The Python interpreter that runs the engine.
    public var pythonExecutable: String
    /// CPU threads per engine process (0: the machine's cores shared among the slots).
    public var engineThreads: Int
    /// The engine workers run (`WHISPER_ENGINE`): faster-whisper in a Python process (the default) or whisper.cpp in
    /// this process.
    public var engine: EngineKind
    /// libwhisper for the whisper.cpp engine (`WHISPER_LIBRARY`, default `.whispercpp/lib/libwhisper.so`).
    public var whisperLibrary: String
    /// The converted ggml models (`WHISPER_GGML_DIR`, default `models/`).
    public var ggmlDirectory: String
    /// Which conversion whisper.cpp loads (`WHISPER_GGML_WEIGHTS`: `q8_0`, the default, or `f16`).
    public var ggmlWeights: String
    /// The exported speaker-embedding model (`DIARIZATION_MODEL`, default `models/campplus.onnx`, made by
    /// `WITH_DIARIZATION=1 make setup`): with it, the faster-whisper engine diarizes speakers.
    public var diarizationModel: String
    /// Beam search width for both engines (`WHISPER_BEAM_SIZE`, default 5; the Python engine reads it itself).
    public var beamSize: Int
    /// Email of the admin user created on first start.
    public var adminEmail: String
    /// The PostgreSQL database (`DATABASE_URL=postgres://user:pass@host:port/db`); nil uses SQLite under `dataDirectory`.
    public var databaseURL: String?
    /// The Redis server for the distributed queue (`REDIS_URL`); nil runs the embedded SQLite queue.
    public var redisURL: String?
    /// The BullMQ key prefix (`QUEUE_PREFIX`, default `bull`).
    public var queuePrefix: String

    /// Whether webhooks may go to private, loopback and link-local addresses (`WEBHOOK_ALLOW_PRIVATE`, default false).
    public var webhookAllowPrivate: Bool
    /// Whether an `audio_url` may point at private, loopback and link-local addresses (`INTAKE_ALLOW_PRIVATE`, default false).
    public var intakeAllowPrivate: Bool
    /// How long an `audio_url` download may take in all, redirects included (`INTAKE_TIMEOUT_SECONDS`, default 120).
    public var intakeTimeout: Duration
    /// Webhook retries: `WEBHOOK_RETRY_DELAY` ms doubling after each failed attempt, for `WEBHOOK_RETRY_HOURS` (24).
    public var webhookRetry: WebhookRetryPolicy
    /// How long one webhook attempt may take (`WEBHOOK_TIMEOUT_SECONDS`, default 10).
    public var webhookTimeout: Duration

    /// The address users reach the service at (`PUBLIC_URL`); an https one makes session cookies `Secure`.
    public var publicURL: String?
    /// How long a dashboard sign-in lasts (`SESSION_TTL_HOURS`, default 12).
    public var sessionLifetime: Duration
    /// How long an API server remembers a checked bearer key (`KEY_CACHE_SECONDS`; 0: never). A credential change
    /// announced by any server makes what it remembers stale at once.
    public var keyCacheLifetime: Duration
    /// The folder holding the dashboard's pages (`DASHBOARD_ROOT`, default `dashboard/` beside `engine/`).
    public var dashboardRoot: String

    /// An S3-compatible bucket for audio and results (`S3_*`); nil keeps them under `DATA_DIR/storage`.
    public var objectStore: ObjectStoreSettings?

    /// Reads the configuration from environment variables, with the documented defaults.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        var problems: [String] = []
        // A setting that is present must parse: a typo never silently becomes the default.
        func value(_ name: String) -> String? {
            environment[name]?.trimmingCharacters(in: .whitespaces).nilIfEmpty
        }
        func int(_ name: String, _ fallback: Int, in range: ClosedRange<Int> = 0...Int.max) -> Int {
            guard let text = value(name) else { return fallback }
            guard let number = Int(text), range.contains(number) else {
                problems.append("\(name) must be a whole number\(range == 0...Int.max ? " ≥ 0" : " from \(range.lowerBound) to \(range.upperBound)"), not '\(text)'")
                return fallback
            }
            return number
        }
        func double(_ name: String, _ fallback: Double) -> Double {
            guard let text = value(name) else { return fallback }
            guard let number = Double(text), number.isFinite, number >= 0 else {
                problems.append("\(name) must be a number ≥ 0, not '\(text)'")
                return fallback
            }
            return number
        }
        func bool(_ name: String) -> Bool {
            guard let text = value(name)?.lowercased() else { return false }
            guard let flag = ["1": true, "true": true, "yes": true, "0": false, "false": false, "no": false][text] else {
                problems.append("\(name) must be true or false, not '\(text)'")
                return false
            }
            return flag
        }
        /// The URL as given (its own driver refuses it again if it is wrong), with a problem noted unless its scheme is one of `schemes`.
        func url(_ name: String, schemes: [String]) -> String? {
            guard let text = value(name) else { return nil }
            if URLComponents(string: text)?.scheme.map({ schemes.contains($0.lowercased()) }) != true {
                problems.append("\(name) must be a \(schemes.joined(separator: " or ")) URL, not '\(text)'")
            }
            return text
        }
        let cwd = FileManager.default.currentDirectoryPath
        host = environment["HOST"] ?? "127.0.0.1"
        port = int("PORT", 8080, in: 1...65535)
        dataDirectory = environment["DATA_DIR"] ?? "\(cwd)/data"
        workerConcurrency = max(0, int("QUEUE_CONCURRENCY", 8))
        retryPolicy = RetryPolicy(maxAttempts: int("QUEUE_MAX_RETRIES", 3), baseDelay: .milliseconds(int("QUEUE_RETRY_DELAY", 5000)))
        lockDuration = .milliseconds(max(1000, int("QUEUE_LOCK_DURATION", 30000)))
        stalledInterval = .milliseconds(max(500, int("QUEUE_STALLED_INTERVAL", 30000)))
        jobRetention = .seconds(double("JOB_RETENTION_HOURS", 24) * 3600)
        failedJobRetention = .seconds(double("FAILED_JOB_RETENTION_HOURS", 168) * 3600)
        maxUploadBytes = Int64(int("MAX_FILE_SIZE", 1024 * 1024 * 1024))
        planPolicy = PlanPolicy(environment: environment, problems: &problems)
        openAIMaxUploadBytes = Int64(int("OPENAI_MAX_FILE_SIZE", 25 * 1024 * 1024))
        jobTimeout = .seconds(int("JOB_TIMEOUT_SECONDS", 3600))
        shutdownGrace = .seconds(int("SHUTDOWN_GRACE_SECONDS", 30))
        retentionSweepInterval = .seconds(int("RETENTION_SWEEP_SECONDS", 600, in: 1...86400))
        metricsPort = value("METRICS_PORT") == nil ? nil : int("METRICS_PORT", 9464, in: 1...65535)
        engineRoot = environment["ENGINE_ROOT"] ?? cwd
        pythonExecutable = environment["WHISPER_PYTHON"] ?? "\(engineRoot)/.venv/bin/python"
        engineThreads = int("WHISPER_CPU_THREADS", 0)
        let engineName = value("WHISPER_ENGINE") ?? EngineKind.fasterWhisper.rawValue
        engine = EngineKind(rawValue: engineName) ?? .fasterWhisper
        if EngineKind(rawValue: engineName) == nil {
            problems.append("WHISPER_ENGINE must be faster-whisper or whisper.cpp, not '\(engineName)'")
        }
        whisperLibrary = environment["WHISPER_LIBRARY"] ?? "\(engineRoot)/.whispercpp/lib/libwhisper.so"
        ggmlDirectory = environment["WHISPER_GGML_DIR"] ?? "\(engineRoot)/models"
        ggmlWeights = value("WHISPER_GGML_WEIGHTS") ?? "q8_0"
        diarizationModel = environment["DIARIZATION_MODEL"] ?? "\(engineRoot)/models/campplus.onnx"
        beamSize = int("WHISPER_BEAM_SIZE", 5, in: 1...16)
        if !["q8_0", "f16"].contains(ggmlWeights) {
            problems.append("WHISPER_GGML_WEIGHTS must be q8_0 or f16, not '\(ggmlWeights)'")
        }
        adminEmail = environment["ADMIN_EMAIL"] ?? "admin@localhost"
        databaseURL = url("DATABASE_URL", schemes: ["postgres", "postgresql"])
        redisURL = url("REDIS_URL", schemes: ["redis", "rediss"])
        queuePrefix = environment["QUEUE_PREFIX"] ?? "bull"
        webhookAllowPrivate = bool("WEBHOOK_ALLOW_PRIVATE")
        intakeAllowPrivate = bool("INTAKE_ALLOW_PRIVATE")
        intakeTimeout = .seconds(int("INTAKE_TIMEOUT_SECONDS", 120, in: 1...86400))
        webhookRetry = WebhookRetryPolicy(
            baseDelay: .milliseconds(max(10, int("WEBHOOK_RETRY_DELAY", 10000))), window: .seconds(double("WEBHOOK_RETRY_HOURS", 24) * 3600))
        webhookTimeout = .seconds(max(1, int("WEBHOOK_TIMEOUT_SECONDS", 10)))
        publicURL = url("PUBLIC_URL", schemes: ["http", "https"])
        sessionLifetime = .seconds(max(60, double("SESSION_TTL_HOURS", 12) * 3600))
        keyCacheLifetime = .seconds(max(0, double("KEY_CACHE_SECONDS", 5)))
        dashboardRoot = environment["DASHBOARD_ROOT"] ?? "\(engineRoot)/dashboard"
        objectStore = nil
        if let bucket = value("S3_BUCKET") {
            let flag = bool("S3_FORCE_PATH_STYLE")
            let endpoint = url("S3_ENDPOINT", schemes: ["http", "https"])
            if let endpoint, URLComponents(string: endpoint)?.host?.isEmpty ?? true {
                problems.append("S3_ENDPOINT must be http(s)://host[:port], not '\(endpoint)'")
            }
            if let key = value("S3_ACCESS_KEY_ID"), let secret = value("S3_SECRET_ACCESS_KEY") {
                objectStore = ObjectStoreSettings(
                    bucket: bucket, region: value("S3_REGION") ?? "us-east-1", endpoint: endpoint, accessKeyId: key, secretAccessKey: secret,
                    forcePathStyle: flag)
            } else {
                problems.append("S3_BUCKET is set, so S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be too")
            }
        }
        if let level = value("LOG_LEVEL"), !["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) {
            problems.append("LOG_LEVEL must be trace, debug, info, notice, warning, error or critical, not '\(level)'")
        }
        invalidSettings = problems
    }

    /// Each setting that is present but cannot be used, with what it must be; empty when all are good.
    public let invalidSettings: [String]

    /// This configuration, or an error naming every setting that is wrong.
    public func validated() throws -> ServiceConfiguration {
        guard invalidSettings.isEmpty else { throw InvalidSettings(problems: invalidSettings) }
        return self
    }

    /// Whether session cookies must only travel over https.
    public var secureCookies: Bool { publicURL?.lowercased().hasPrefix("https://") ?? false }

    /// The SQLite database file in embedded mode.
    public var sqlitePath: String { "\(dataDirectory)/whisperapi.sqlite" }
    /// The root of local object storage.
    public var storageDirectory: String { "\(dataDirectory)/storage" }

    /// CPU threads for the worker's engine: every core (its batches serve every running job), unless
    /// `WHISPER_CPU_THREADS` says otherwise.
    public var inferenceThreads: Int {
        engineThreads > 0 ? engineThreads : max(1, ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// The engines a worker can run.
public enum EngineKind: String, Sendable, CaseIterable {
    /// faster-whisper (CTranslate2) in the worker's Python engine process, with its window scheduler.
    case fasterWhisper = "faster-whisper"
    /// whisper.cpp's libwhisper inside the worker process: no Python needed.
    case whisperCpp = "whisper.cpp"
}

/// Settings that cannot be used, each named with what it must be.
public struct InvalidSettings: Error, CustomStringConvertible {
    public let problems: [String]

    public var description: String {
        "invalid configuration:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Where an S3-compatible bucket is and how to sign for it, as configured (`S3_*`).
public struct ObjectStoreSettings: Sendable, Equatable {
    public var bucket: String
    public var region: String
    /// `http(s)://host[:port]`; AWS's regional endpoint when nil.
    public var endpoint: String?
    public var accessKeyId: String
    public var secretAccessKey: String
    /// `endpoint/bucket/key` addressing instead of `bucket.endpoint/key`.
    public var forcePathStyle: Bool

    public init(bucket: String, region: String, endpoint: String?, accessKeyId: String, secretAccessKey: String, forcePathStyle: Bool) {
        self.bucket = bucket
        self.region = region
        self.endpoint = endpoint
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.forcePathStyle = forcePathStyle
    }
}

extension ServiceConfiguration {
    /// Where the service keeps what its processes share in Redis (limits, locks, notices, worker capabilities):
    /// `whisperapi:<QUEUE_PREFIX>`, beside, not inside, BullMQ's own keys.
    public var sharedKeyPrefix: String { "whisperapi:\(queuePrefix)" }

    /// Whether this process's workers can diarize speakers: the faster-whisper engine with the model installed.
    public var workersCanDiarize: Bool {
        engine == .fasterWhisper && FileManager.default.fileExists(atPath: diarizationModel)
    }
}
