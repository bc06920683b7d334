import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import Persistence
import RedisClient
import RedisQueue
import SQLQueue
import Server
import Services
import Testing
import Webhooks
import WhisperAPICore

/// Webhook signing, the target policy, the webhook queues and the settings routes. A live receiver is
/// driven end to end in e2e/test_webhooks.py.
@Suite struct WebhookSignatureTests {
    @Test func theSignatureIsHMACSHA256OverTimestampDotBody() {
        let body = #"{"event":"transcription.completed"}"#
        // Computed independently with Python's hmac module.
        #expect(WebhookSignature.header(secret: "whsec_test", timestamp: 1_700_000_000, body: body)
            == "t=1700000000,v1=ce551fada6b885d370972ead40b7581362f3b187c379292915a7399f7323c53b")
    }

    @Test func onlyTheRightSecretBodyAndTimeVerify() {
        let now = Date()
        let body = #"{"event":"transcription.failed","transcriptionId":"x"}"#
        let header = WebhookSignature.header(secret: "whsec_a", timestamp: Int(now.timeIntervalSince1970), body: body)
        #expect(WebhookSignature.verify(header: header, body: body, secret: "whsec_a", now: now))
        #expect(!WebhookSignature.verify(header: header, body: body.replacingOccurrences(of: "failed", with: "completed"), secret: "whsec_a", now: now))
        #expect(!WebhookSignature.verify(header: header, body: body, secret: "whsec_b", now: now))
        #expect(!WebhookSignature.verify(header: header, body: body, secret: "whsec_a", now: now.addingTimeInterval(3600)), "a replay an hour later")
        #expect(!WebhookSignature.verify(header: "t=abc,v1=00", body: body, secret: "whsec_a", now: now))
    }
}

@Suite struct WebhookTargetPolicyTests {
    @Test(arguments: [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "::1", "::", "fd00::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "not an address",
    ])
    func internalAddressesAreRecognised(address: String) {
        #expect(OutboundTargetPolicy.isInternal(address))
    }

    @Test(arguments: ["8.8.8.8", "1.1.1.1", "172.32.0.1", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
    func publicAddressesAreNot(address: String) {
        #expect(!OutboundTargetPolicy.isInternal(address))
    }

    @Test func urlsAreCheckedForSchemeCredentialsAndTarget() async throws {
        let strict = OutboundTargetPolicy(allowPrivate: false, field: "webhook_url")
        for refused in ["ftp://93.184.215.14/x", "file:///etc/passwd", "not a url", "http://user:pw@93.184.215.14/",
                        "http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://169.254.169.254/latest/meta-data", "http://localhost/x"] {
            await #expect(throws: OutboundTargetRefused.self, "\(refused)") { try await strict.check(refused) }
        }
        try await strict.check("https://93.184.215.14/hook")
        try await OutboundTargetPolicy(allowPrivate: true, field: "webhook_url").check("http://127.0.0.1:9/hook")
    }

    @Test func retriesFitTheWindow() {
        let day = WebhookRetryPolicy(baseDelay: .seconds(10), window: .seconds(24 * 3600))
        // 10 s * (2^13 - 1) = 22.75 h of waiting fits in a day; one more doubling would not.
        #expect(day.maxAttempts == 14)
        #expect(day.delay(afterAttempts: 1) == .seconds(10))
        #expect(day.delay(afterAttempts: 3) == .seconds(40))
        #expect(WebhookRetryPolicy(baseDelay: .milliseconds(50), window: .milliseconds(100)).maxAttempts == 2)
    }
}

/// The webhook queue of each driver: one send per id, retries with backoff, and giving up.
@Suite(.serialized) struct WebhookQueueTests {
    func withWebhookQueue(_ driver: QueueDriver, policy: WebhookRetryPolicy, _ body: (any WebhookQueue) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        switch driver {
        case .sqlite:
            try await withQueueDatabase(logger: logger) { handle in
                try await body(SQLWebhookQueue(database: handle.database, policy: policy, logger: logger))
            }
        case .redis:
            let url = try #require(ProcessInfo.processInfo.environment["TEST_REDIS_URL"])
            let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 2, logger: logger)
            do {
                try await body(RedisWebhookQueue(client: client, prefix: "test-\(UUID().uuidString.prefix(8))", policy: policy, logger: logger))
            } catch {
                await client.close()
                throw error
            }
            await client.close()
        }
    }

    func job(_ id: String) -> WebhookJob {
        WebhookJob(id: id, transcriptionId: UUID(), apiKeyId: UUID(), event: .completed, url: "http://receiver/hook", body: "{}")
    }

    /// Runs the queue's senders until `done` holds (or 20 s pass) and `linger` longer, so that anything
    /// sent too often shows, then stops them.
    func process(
        _ queue: any WebhookQueue, until done: @escaping @Sendable () -> Bool, linger: Duration = .milliseconds(800),
        deliver: @escaping @Sendable (WebhookJob, Int) async throws -> Void
    ) async throws {
        let senders = Task { try await queue.process(concurrency: 2, deliver: deliver) }
        let deadline = ContinuousClock.now + .seconds(20)
        while !done() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: linger)
        senders.cancel()
        _ = await senders.result
    }

    @Test(arguments: QueueDriver.available)
    func aFailingWebhookIsRetriedWithBackoffAndSentOnce(driver: QueueDriver) async throws {
        try await withWebhookQueue(driver, policy: WebhookRetryPolicy(baseDelay: .milliseconds(200), window: .seconds(3600))) { queue in
            let calls = NIOLockedValueBox<[(attempt: Int, at: ContinuousClock.Instant)]>([])
            let id = "\(UUID().uuidString.lowercased())_transcription.completed_0"  // the form the notifier uses
            try await queue.add(job(id))
            try await queue.add(job(id))  // the same event queued twice (two servers, or a replayed event)
            try await process(queue, until: { calls.withLockedValue { $0.count >= 3 } }) { _, attempt in
                calls.withLockedValue { $0.append((attempt, .now)) }
                if attempt < 3 { throw CancellationError() }
            }
            let seen = calls.withLockedValue { $0 }
            #expect(seen.map(\.attempt) == [1, 2, 3])
            if seen.count == 3 {
                #expect(seen[1].at - seen[0].at >= .milliseconds(180), "waits the base delay")
                #expect(seen[2].at - seen[1].at >= .milliseconds(380), "then twice as long")
            }
        }
    }

    @Test(arguments: QueueDriver.available)
    func aWebhookThatAlwaysFailsStopsAfterItsAttempts(driver: QueueDriver) async throws {
        try await withWebhookQueue(driver, policy: WebhookRetryPolicy(baseDelay: .milliseconds(50), window: .milliseconds(100))) { queue in
            let attempts = NIOLockedValueBox<[Int]>([])
            try await queue.add(job("b"))
            try await process(queue, until: { attempts.withLockedValue { $0.count >= 2 } }) { _, attempt in
                attempts.withLockedValue { $0.append(attempt) }
                throw CancellationError()
            }
            #expect(attempts.withLockedValue { $0 } == [1, 2])
        }
    }
}

/// The webhook settings routes and the submit field, through the API.
@Suite(.serialized) struct WebhookRouteTests {
    func put(_ client: any TestClientProtocol, key: String, _ body: String) async throws -> TestResponse {
        try await client.execute(
            uri: "/api/v1/keys/current/webhook", method: .put,
            headers: [.authorization: "Bearer \(key)", .contentType: "application/json"], body: ByteBuffer(string: body))
    }

    @Test(arguments: DatabaseDriver.available)
    func aKeysDefaultURLAndSecretAreItsOwnAndInternalTargetsAreRefused(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let empty = try dataField(try await client.get("/api/v1/keys/current/webhook", key: harness.freeKey))
            #expect(empty["url"] == nil || empty["url"] is NSNull)
            let set = try await put(client, key: harness.freeKey, #"{"url": "https://93.184.215.14/hooks/whisper"}"#)
            #expect(set.status == .ok)
            #expect(try dataField(try await client.get("/api/v1/keys/current/webhook", key: harness.freeKey))["url"] as? String
                == "https://93.184.215.14/hooks/whisper")
            #expect(try dataField(try await client.get("/api/v1/keys/current/webhook", key: harness.proKey))["url"] is NSNull,
                    "another key's setting is its own")
            for refused in [#"{"url": "http://127.0.0.1:9000/x"}"#, #"{"url": "http://169.254.169.254/"}"#, #"{"url": "ftp://93.184.215.14/"}"#] {
                let response = try await put(client, key: harness.freeKey, refused)
                #expect(response.status == .badRequest, "\(refused)")
                #expect(try errorCode(response) == "INVALID_WEBHOOK_URL")
            }
            #expect(try errorCode(try await put(client, key: harness.freeKey, "not json")) == "INVALID_BODY")
            #expect(try errorCode(try await put(client, key: harness.freeKey, "{}")) == "INVALID_BODY", "url: null clears; a missing url is a mistake")
            #expect(try await put(client, key: harness.freeKey, #"{"url": null}"#).status == .ok)
            #expect(try dataField(try await client.get("/api/v1/keys/current/webhook", key: harness.freeKey))["url"] is NSNull)

            let rotate = { try await client.execute(uri: "/api/v1/keys/current/webhook/secret", method: .post, headers: [.authorization: "Bearer \(harness.freeKey)"]) }
            let first = try #require(try dataField(try await rotate())["secret"] as? String)
            let second = try #require(try dataField(try await rotate())["secret"] as? String)
            #expect(first.hasPrefix("whsec_") && second.hasPrefix("whsec_") && first != second)
            let prefix = try #require(APIKeyMaterial.prefix(of: harness.freeKey))
            #expect(try await harness.backend.users.key(prefix: prefix)?.webhookSecret == second, "the newest secret signs from now on")

            var form = Multipart()
            form.file(wavBytes())
            form.field("webhook_url", "http://localhost:8080/internal")
            let submitted = try await client.submit(form, key: harness.freeKey)
            #expect(submitted.status == .badRequest)
            #expect(try errorCode(submitted) == "INVALID_WEBHOOK_URL")
            #expect(harness.storedFiles().isEmpty, "a refused submit keeps no audio")
        }
    }

    @Test func newKeysHaveTheirOwnSecret() async throws {
        try await APIHarness.run { _, harness in
            let admin = harness.backend.administration
            let one = try await admin.createKey(email: "free@example.com", name: "one").record
            let two = try await admin.createKey(email: "free@example.com", name: "two").record
            #expect(one.webhookSecret?.hasPrefix("whsec_") == true)
            #expect(one.webhookSecret != two.webhookSecret)
        }
    }
}
