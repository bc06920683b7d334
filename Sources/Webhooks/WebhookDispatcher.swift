import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Persistence
import ServiceLifecycle
import Telemetry
import WhisperAPICore

/// Sends queued webhooks: signs each body with its API key's secret, posts it, records every attempt,
/// and lets the queue retry a failed one with backoff. Runs on every API server.
public struct WebhookDispatcher: Service {
    let queue: any WebhookQueue
    let users: UserRepository
    let attempts: WebhookAttemptRepository
    let targets: OutboundTargetPolicy
    let retry: WebhookRetryPolicy
    let timeout: Duration
    let concurrency: Int
    let logger: Logger

    public init(
        queue: any WebhookQueue, users: UserRepository, attempts: WebhookAttemptRepository, targets: OutboundTargetPolicy,
        retry: WebhookRetryPolicy, timeout: Duration, concurrency: Int = 4, logger: Logger
    ) {
        self.queue = queue
        self.users = users
        self.attempts = attempts
        self.targets = targets
        self.retry = retry
        self.timeout = timeout
        self.concurrency = concurrency
        self.logger = logger
    }

    /// An attempt that failed and should be tried again.
    struct AttemptFailed: Error, CustomStringConvertible {
        let description: String
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            do {
                try await queue.process(concurrency: concurrency) { job, attempt in
                    try await deliver(job, attempt: attempt)
                }
            } catch {
                logger.error("webhook sender stopped", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One attempt: throws when it failed and another attempt should follow.
    func deliver(_ job: WebhookJob, attempt: Int) async throws {
        let started = ContinuousClock.now
        let (statusCode, failure, retryable) = await send(job, attempt: attempt)
        let elapsed = ContinuousClock.now - started
        let deadline = job.createdAt.addingTimeInterval(retry.window.inSeconds)
        let willRetry = failure != nil && retryable && attempt < retry.maxAttempts
            && Date().addingTimeInterval(retry.delay(afterAttempts: attempt).inSeconds) <= deadline
        RequestMetrics.webhookAttempt(outcome: failure == nil ? "delivered" : willRetry ? "retrying" : "failed")
        let record = WebhookAttempt(
            deliveryId: job.id, transcriptionId: job.transcriptionId, event: job.event, url: job.url, attempt: attempt,
            statusCode: statusCode, error: failure, succeeded: failure == nil, willRetry: willRetry,
            durationMs: Int(elapsed.wholeMilliseconds))
        do {
            try await attempts.record(record)
        } catch {
            logger.warning("could not record a webhook attempt", metadata: ["delivery": "\(job.id)", "error": "\(error)"])
        }
        if let failure {
            logger.info("webhook attempt failed", metadata: ["delivery": "\(job.id)", "attempt": "\(attempt)", "reason": "\(failure)"])
            if willRetry { throw AttemptFailed(description: failure) }
        }
    }

    /// One signed POST: the receiver's status, or why the attempt failed and whether another could help. The address
    /// is checked at each attempt and the connection goes to that checked address; redirects are not followed (a public
    /// URL must not lead the server to an internal one).
    func send(_ job: WebhookJob, attempt: Int) async -> (statusCode: Int?, failure: String?, retryable: Bool) {
        let key: APIKeyRecord?
        do {
            key = try await users.key(id: job.apiKeyId)
        } catch {
            return (nil, "the signing secret could not be read", true)
        }
        guard let secret = key?.webhookSecret else {
            return (nil, "the API key that submitted the transcription no longer exists", false)
        }
        let target: PinnedTarget
        do {
            target = try await targets.check(job.url)
        } catch {
            return (nil, "\(error)", true)
        }
        let client = PinnedConnection.client(for: target)
        let outcome = await post(job, attempt: attempt, secret: secret, client: client)
        try? await client.shutdown()
        return outcome
    }

    func post(_ job: WebhookJob, attempt: Int, secret: String, client: HTTPClient) async -> (statusCode: Int?, failure: String?, retryable: Bool) {
        do {
            var request = HTTPClientRequest(url: job.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "WhisperAPI-Webhooks/1")
            request.headers.add(name: "WhisperAPI-Event", value: job.event.rawValue)
            request.headers.add(name: "WhisperAPI-Delivery", value: job.id)
            request.headers.add(name: "WhisperAPI-Attempt", value: String(attempt))
            request.headers.add(
                name: WebhookSignature.headerName,
                value: WebhookSignature.header(secret: secret, timestamp: Int(Date().timeIntervalSince1970), body: job.body))
            request.body = .bytes(ByteBuffer(string: job.body))
            let response = try await client.execute(request, timeout: .init(timeout))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let code = Int(response.status.code)
            return (code, (200..<300).contains(code) ? nil : "the receiver answered \(code)", true)
        } catch {
            return (nil, "the receiver could not be reached: \(String(describing: error).prefix(200))", true)
        }
    }
}
