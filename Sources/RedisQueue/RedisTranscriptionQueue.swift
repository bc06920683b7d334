import BullMQ
import Foundation
import Logging
import NIOConcurrencyHelpers
import RedisClient
import WhisperAPICore

/// The distributed queue: BullMQ's Redis format on queue `transcription`, so Python `bullmq`
/// workers and producers share it with the Swift side.
public final class RedisTranscriptionQueue: TranscriptionQueue, JobLeasing {
    /// The BullMQ queue name every WhisperAPI process and cloud worker uses.
    public static let queueName = "transcription"
    /// Job name of transcription jobs.
    public static let jobName = "transcribe"
    /// A failed reason starting with this marks a job cancelled by its owner.
    public static let cancelledReason = "CANCELLED: cancelled by the client"

    public let queue: Queue
    let client: RedisClient
    let retryPolicy: RetryPolicy
    let jobRetention: Duration
    let failedJobRetention: Duration
    let stalledInterval: Duration
    let maxStalledCount: Int
    let logger: Logger
    let leased = NIOLockedValueBox([String: ActiveJob]())
    let lastSweep = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    let cancellationBroadcast = Broadcast<String>()
    let blocking: BlockingConnections

    /// Connects lazily to `url`; keys live under `prefix` (BullMQ's default `bull`).
    public init(
        url: String, prefix: String = "bull", retryPolicy: RetryPolicy, jobRetention: Duration, failedJobRetention: Duration,
        stalledInterval: Duration = .seconds(30), maxStalledCount: Int = 1, logger: Logger
    ) throws {
        var configuration = try RedisConfiguration(url: url)
        configuration.clientName = "whisperapi"
        client = RedisClient(configuration: configuration, poolSize: 4, logger: logger)
        queue = Queue(name: Self.queueName, client: client, prefix: prefix)
        self.retryPolicy = retryPolicy
        self.jobRetention = jobRetention
        self.failedJobRetention = failedJobRetention
        self.stalledInterval = stalledInterval
        self.maxStalledCount = maxStalledCount
        self.logger = logger
        blocking = BlockingConnections(client: client)
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    // MARK: - Producer side

    public func addTranscriptionJob(_ data: TranscriptionJobData, priority: Int, jobId: String) async throws -> String {
        let options = JobOptions(
            priority: priority, attempts: retryPolicy.maxAttempts,
            backoff: .exponential(milliseconds: Int(retryPolicy.baseDelay.wholeMilliseconds)),
            removeOnComplete: .age(seconds: Int(jobRetention.inSeconds), count: nil),
            removeOnFail: .age(seconds: Int(failedJobRetention.inSeconds), count: nil),
            jobId: jobId)
        return try await queue.add(Self.jobName, data: try Self.json(data), options: options)
    }

    public func getJobStatus(_ jobId: String) async throws -> JobStatus? {
        guard let job = try await queue.getJob(jobId),
              let data = try? job.decodeData(TranscriptionJobData.self)
        else { return nil }
        let state: WhisperAPICore.JobState
        switch try await queue.getJobState(jobId) {
        case .completed: state = .completed
        case .failed: state = job.failedReason?.hasPrefix("CANCELLED") == true ? .cancelled : .failed
        case .delayed: state = .delayed
        case .active: state = .active
        case .waiting, .prioritized, .waitingChildren: state = .waiting
        case .unknown: return nil
        }
        func date(_ ms: Int64?) -> Date? { ms.map { Date(timeIntervalSince1970: Double($0) / 1000) } }
        return JobStatus(
            id: jobId, state: state, priority: job.priority, progress: ProgressSegment.parseProgress(job.progress).progress ?? 0,
            attemptsMade: job.attemptsMade, failedReason: job.failedReason,
            returnValue: job.returnValue.flatMap { try? JSONDecoder().decode(TranscriptionJobResult.self, from: Data($0.utf8)) },
            data: data, createdAt: date(job.timestamp) ?? Date(), processedAt: date(job.processedOn), finishedAt: date(job.finishedOn))
    }

    public func cancelJob(_ jobId: String) async throws -> Bool {
        let outcome = try await queue.cancel(jobId, reason: Self.cancelledReason)
        guard outcome != .notCancellable else { return false }
        cancellationBroadcast.send(jobId)
        return true
    }

    public func retryFailedJob(_ jobId: String) async throws -> Bool {
        guard let job = try await queue.getJob(jobId), job.failedReason?.hasPrefix("CANCELLED") != true else { return false }
        return try await queue.retryJob(jobId, from: .failed, resetAttempts: true)
    }

    public func getQueueStats() async throws -> QueueStats {
        let counts = try await queue.getJobCounts([.waiting, .prioritized, .active, .completed, .failed, .delayed])
        return QueueStats(
            waiting: (counts[.waiting] ?? 0) + (counts[.prioritized] ?? 0), active: counts[.active] ?? 0,
            completed: counts[.completed] ?? 0, failed: counts[.failed] ?? 0, delayed: counts[.delayed] ?? 0)
    }

    public func removeJob(_ jobId: String) async throws {
        try await queue.remove(jobId)
    }

    public func waitingCount(priority: Int?) async throws -> Int {
        guard let priority else {
            let counts = try await queue.getJobCounts([.waiting, .prioritized])
            return (counts[.waiting] ?? 0) + (counts[.prioritized] ?? 0)
        }
        return try await queue.countPrioritized(priority: priority)
    }

    public func cleanupOldJobs(completedBefore: Date, failedBefore: Date) async throws -> Int {
        let now = Date()
        let completed = try await queue.clean(grace: Int(now.timeIntervalSince(completedBefore) * 1000), state: .completed)
        let failed = try await queue.clean(grace: Int(now.timeIntervalSince(failedBefore) * 1000), state: .failed)
        return completed.count + failed.count
    }

    public var eventLogName: String { "redis:\(queue.keys.base)events" }

    public func events(after cursor: String?, limit: Int, waitUpTo: Duration?) async throws -> [WhisperAPICore.QueueEvent] {
        let reader = QueueEvents(queue: queue)
        let raw: [BullMQ.QueueEvent]
        if let waitUpTo {
            raw = try await blocking.with { connection in
                try await reader.read(after: cursor ?? "0", count: limit, block: waitUpTo, on: connection)
            }
        } else {
            raw = try await reader.read(after: cursor ?? "0", count: limit)
        }
        return raw.map(Self.translate)
    }

    /// BullMQ's events as the status sync understands them.
    static func translate(_ event: BullMQ.QueueEvent) -> WhisperAPICore.QueueEvent {
        let jobId = event.jobId ?? ""
        let kind: WhisperAPICore.QueueEvent.Kind
        switch event.name {
        case "active": kind = .active
        case "progress": kind = .progress
        case "completed": kind = .completed
        case "failed": kind = event.fields["failedReason"]?.hasPrefix("CANCELLED") == true ? .cancelled : .failed
        case "delayed": kind = .waiting
        case "waiting": kind = ["active", "failed", "completed"].contains(event.fields["prev"] ?? "") ? .waiting : .other
        case "removed": kind = .cancelled
        default: kind = .other
        }
        let reported = kind == .progress ? ProgressSegment.parseProgress(event.fields["data"]) : (progress: nil, segment: nil)
        return WhisperAPICore.QueueEvent(
            cursor: event.id, jobId: jobId, kind: kind, progress: kind == .completed ? 100 : reported.progress, segment: reported.segment,
            returnValue: event.fields["returnvalue"].flatMap { try? JSONDecoder().decode(TranscriptionJobResult.self, from: Data($0.utf8)) },
            failedReason: event.fields["failedReason"], attemptsMade: event.fields["attemptsMade"].flatMap { Int($0) })
    }

    public func shutdown() async {
        cancellationBroadcast.finish()
        await blocking.closeAll()
        await client.close()
    }
}

/// Dedicated connections for blocking reads, lent one caller at a time.
actor BlockingConnections {
    let client: RedisClient
    private var idle: [RedisConnection] = []

    init(client: RedisClient) {
        self.client = client
    }

    func with<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        let connection = try await checkout()
        do {
            let value = try await body(connection)
            checkin(connection)
            return value
        } catch {
            await connection.close()
            throw error
        }
    }

    private func checkout() async throws -> RedisConnection {
        while let connection = idle.popLast() {
            if connection.isActive { return connection }
        }
        return try await client.makeDedicatedConnection()
    }

    private func checkin(_ connection: RedisConnection) {
        if connection.isActive { idle.append(connection) }
    }

    func closeAll() async {
        for connection in idle { await connection.close() }
        idle.removeAll()
    }
}
