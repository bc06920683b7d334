import BullMQ
import Foundation
import Logging
import RedisClient
import WhisperAPICore

/// The distributed webhook queue: BullMQ queue `webhooks`, whose own attempts and exponential backoff
/// retry a failed delivery, and whose locks and stalled sweep resend one whose server died mid-send.
public final class RedisWebhookQueue: WebhookQueue {
    /// The BullMQ queue name of webhook jobs.
    public static let queueName = "webhooks"
    static let jobName = "deliver"

    public let queue: Queue
    let client: RedisClient
    let policy: WebhookRetryPolicy
    let lockDuration: Duration
    let logger: Logger

    /// A queue on `client` (which the caller owns and closes); keys live under `prefix`, beside the
    /// transcription queue's.
    public init(client: RedisClient, prefix: String = "bull", policy: WebhookRetryPolicy, lockDuration: Duration = .seconds(60), logger: Logger) {
        self.client = client
        queue = Queue(name: Self.queueName, client: client, prefix: prefix)
        self.policy = policy
        self.lockDuration = lockDuration
        self.logger = logger
    }

    public func add(_ job: WebhookJob) async throws {
        let week = 7 * 24 * 3600
        let options = JobOptions(
            attempts: policy.maxAttempts, backoff: .exponential(milliseconds: Int(policy.baseDelay.wholeMilliseconds)),
            removeOnComplete: .age(seconds: week, count: nil), removeOnFail: .age(seconds: week, count: nil), jobId: job.id)
        _ = try await queue.add(Self.jobName, data: try RedisTranscriptionQueue.json(job), options: options)
    }

    public func process(concurrency: Int, deliver: @escaping @Sendable (WebhookJob, Int) async throws -> Void) async throws {
        var options = Worker.Options()
        options.concurrency = max(1, concurrency)
        options.lockDuration = lockDuration
        options.drainDelay = .seconds(2)
        let worker = Worker(queue: queue, options: options, logger: logger) { active in
            let job = try active.job.decodeData(WebhookJob.self)
            try await deliver(job, active.job.attemptsMade + 1)
            return "null"
        }
        try await withTaskCancellationHandler {
            try await worker.run()
        } onCancel: {
            worker.close(release: true)
        }
    }

    /// Nothing to release: the client belongs to the caller, and `process` stops its worker on cancellation.
    public func close() async {}
}
