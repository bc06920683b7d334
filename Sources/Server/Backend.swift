import FluentKit
import Foundation
import Limits
import Logging
import Persistence
import RedisClient
import RedisQueue
import SQLQueue
import Services
import Storage
import Webhooks
import WhisperAPICore

/// The backends chosen by configuration: database, queue and object storage.
///
/// Everything above this type is the same whichever backends are in use.
public struct Backend: Sendable {
    public let configuration: ServiceConfiguration
    public let database: DatabaseHandle
    public let queue: any TranscriptionQueue
    public let leasing: any JobLeasing
    public let storage: any ObjectStorage
    public let users: UserRepository
    /// Dashboard sessions (cookie sign-in), shared by every API server.
    public let sessions: SessionRepository
    public let transcriptions: TranscriptionRepository
    public let cursors: SyncCursorRepository
    /// Webhooks waiting to be sent: BullMQ queue `webhooks` with `REDIS_URL`, else a table of the database.
    public let webhooks: any WebhookQueue
    public let webhookAttempts: WebhookAttemptRepository
    public let usage: UsageRepository
    /// Request rate limits and the lock that makes the concurrent-job check and the enqueue one step:
    /// in Redis with `REDIS_URL` (shared by every API server), else in process.
    public let rateLimiter: any RateLimiter
    public let locks: any NamedLock
    /// Tells every API server that keys or plans changed (in Redis with `REDIS_URL`, else in process).
    public let credentialNotices: any CredentialNotices
    /// With Redis: the connections of the webhook queue and the limits.
    let servicesClient: RedisClient?

    /// Opens the backends and applies pending migrations.
    public static func open(_ configuration: ServiceConfiguration, logger: Logger) async throws -> Backend {
        _ = try configuration.validated()
        if configuration.databaseURL != nil && configuration.redisURL == nil {
            throw ConfigurationError(description: "DATABASE_URL (PostgreSQL) needs REDIS_URL: the embedded queue runs on SQLite only")
        }
        let database = try await DatabaseHandle.open(configuration, logger: logger)
        do {
            try await database.migrate(migrations(for: database.kind))
            let (queue, leasing) = try openQueue(configuration, database: database, logger: logger)
            let storage = try openStorage(configuration)
            let db = database.database
            // One connection pool for the webhook queue and the limits (the transcription queue has its own).
            let servicesClient = try configuration.redisURL.map { url in
                var redis = try RedisConfiguration(url: url)
                redis.clientName = "whisperapi-services"
                return RedisClient(configuration: redis, poolSize: 2, logger: logger)
            }
            let limitsPrefix = configuration.sharedKeyPrefix
            let webhooks: any WebhookQueue = servicesClient.map {
                RedisWebhookQueue(client: $0, prefix: configuration.queuePrefix, policy: configuration.webhookRetry, logger: logger)
            } ?? SQLWebhookQueue(database: db, policy: configuration.webhookRetry, logger: logger)
            return Backend(
                configuration: configuration, database: database, queue: queue, leasing: leasing, storage: storage,
                users: UserRepository(database: db), sessions: SessionRepository(database: db), transcriptions: TranscriptionRepository(
                    // Only this process writes an embedded database, so its rows can be remembered between reads.
                    database: db, rowCache: database.kind == .sqlite ? TranscriptionRowCache() : nil),
                cursors: SyncCursorRepository(database: db), webhooks: webhooks,
                webhookAttempts: WebhookAttemptRepository(database: db), usage: UsageRepository(database: db),
                rateLimiter: servicesClient.map { RedisRateLimiter(client: $0, prefix: limitsPrefix) } ?? InProcessRateLimiter(),
                locks: servicesClient.map { RedisLock(client: $0, prefix: limitsPrefix) } ?? InProcessLock(),
                credentialNotices: servicesClient.map { RedisCredentialNotices(client: $0, prefix: limitsPrefix, logger: logger) }
                    ?? LocalCredentialNotices(directory: configuration.dataDirectory),
                servicesClient: servicesClient)
        } catch {
            await database.shutdown()
            throw error
        }
    }

    /// The migrations for a database: the embedded queue's tables exist in SQLite only.
    static func migrations(for kind: DatabaseHandle.Kind) -> [any Migration] {
        kind == .sqlite ? PersistenceMigrations.all + QueueMigrations.all : PersistenceMigrations.all
    }

    /// The queue the configuration names: Redis (BullMQ format) with `REDIS_URL`, else the embedded SQL queue.
    static func openQueue(
        _ configuration: ServiceConfiguration, database: DatabaseHandle?, logger: Logger
    ) throws -> (any TranscriptionQueue, any JobLeasing) {
        if let url = configuration.redisURL {
            let queue = try RedisTranscriptionQueue(
                url: url, prefix: configuration.queuePrefix, retryPolicy: configuration.retryPolicy,
                jobRetention: configuration.jobRetention, failedJobRetention: configuration.failedJobRetention,
                stalledInterval: configuration.stalledInterval, logger: logger)
            return (queue, queue)
        }
        guard let database else { throw ConfigurationError(description: "the embedded queue needs the database; set REDIS_URL to run standalone workers") }
        let queue = SQLTranscriptionQueue(database: database.database, retryPolicy: configuration.retryPolicy, logger: logger)
        return (queue, queue)
    }

    /// The object storage the configuration names: an S3-compatible bucket with `S3_BUCKET`, else files under DATA_DIR.
    static func openStorage(_ configuration: ServiceConfiguration) throws -> any ObjectStorage {
        if let settings = configuration.objectStore {
            return S3ObjectStorage(configuration: S3Configuration(settings))
        }
        return try LocalObjectStorage(root: configuration.storageDirectory)
    }

    /// Stops the queue and closes the database.
    public func close() async {
        await servicesClient?.close()
        await webhooks.close()
        await queue.shutdown()
        await database.shutdown()
    }
}

/// The configuration cannot work as given.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
}

/// The use cases on these backends, each given only what it uses.
extension Backend {
    public var submission: Submission {
        Submission(
            transcriptions: transcriptions, usage: usage, queue: queue, storage: storage, locks: locks,
            plans: configuration.planPolicy, allowPrivateWebhooks: configuration.webhookAllowPrivate,
            idempotency: idempotencyKeys, batches: batches, diarization: diarization)
    }

    /// Where workers claim in Redis that they can diarize (nil in embedded mode, where the workers are this process's).
    var diarizationBoard: RedisDiarizationBoard? {
        servicesClient.map { RedisDiarizationBoard(client: $0, prefix: configuration.sharedKeyPrefix) }
    }

    /// Whether some worker can diarize: on Redis, the workers' claims; embedded, this process's own workers.
    public var diarization: any DiarizationCapability { diarizationBoard ?? FixedCapability(configuration.workersCanDiarize) }

    /// Submissions' idempotency keys, in the shared database.
    public var idempotencyKeys: IdempotencyRepository { IdempotencyRepository(database: database.database) }

    /// Batches of submissions, in the shared database.
    public var batches: BatchRepository { BatchRepository(database: database.database) }

    public var dataRetention: DataRetention {
        DataRetention(users: users, transcriptions: transcriptions, storage: storage, plans: configuration.planPolicy)
    }

    public var jobControl: JobControl {
        JobControl(transcriptions: transcriptions, queue: queue, storage: storage, batches: batches, batchCompletion: batchCompletion)
    }

    /// Ends batches whose last item ended, with their webhook.
    public var batchCompletion: BatchCompletion { BatchCompletion(batches: batches, webhooks: WebhookNotifier(queue: webhooks)) }

    public var administration: AdminActions {
        AdminActions(
            users: users, usage: usage, queue: queue, notices: credentialNotices, configuration: configuration,
            transcriptions: transcriptions, jobControl: jobControl)
    }
}
