import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Server
import Telemetry
import Testing
import WhisperAPICore

/// `GET /metrics`, request ids and JSON logs, through the public interface.
struct ObservabilityTests {
    /// One sample of the Prometheus text: the value of the series whose name and labels match exactly.
    func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    func metrics(_ client: any TestClientProtocol) async throws -> String {
        let response = try await client.execute(uri: "/metrics", method: .get)
        #expect(response.status == .ok)
        #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
        return String(buffer: response.body)
    }

    func upload(_ client: any TestClientProtocol, key: String) async throws -> TestResponse {
        var form = Multipart()
        form.file(wavBytes())
        return try await client.submit(form, key: key)
    }

    @Test(arguments: DatabaseDriver.available)
    func metricsCountRequestsByRouteTemplateAndReadTheQueueAtEachScrape(database: DatabaseDriver) async throws {
        // No workers: accepted jobs stay waiting, and a third PRO job is refused by backpressure.
        try await APIHarness.run(database: database, environment: ["PLAN_PRO_MAX_WAITING": "2"]) { client, harness in
            let before = try await metrics(client)
            let notFound = "whisperapi_http_requests_total{route=\"/api/v1/status/{id}\",method=\"GET\",status=\"404\"}"
            let queueFull = "whisperapi_limit_refusals_total{code=\"QUEUE_FULL\"}"
            let id = UUID().lowercasedString
            #expect(try await client.get("/api/v1/status/\(id)", key: harness.proKey).status == .notFound)
            #expect(try await upload(client, key: harness.proKey).status == .accepted)
            #expect(try await upload(client, key: harness.proKey).status == .accepted)
            #expect(try await upload(client, key: harness.proKey).status == .serviceUnavailable)

            let after = try await metrics(client)
            #expect((sample(after, notFound) ?? 0) - (sample(before, notFound) ?? 0) >= 1, "counted under the route's template")
            #expect(!after.contains(id), "no label holds an id")
            #expect((sample(after, queueFull) ?? 0) - (sample(before, queueFull) ?? 0) >= 1)
            #expect(sample(after, "whisperapi_queue_jobs{state=\"waiting\"}") == 2)
            #expect(sample(after, "whisperapi_queue_waiting_jobs{plan=\"PRO\"}") == 2)
            #expect(sample(after, "whisperapi_queue_waiting_jobs{plan=\"FREE\"}") == 0)
            #expect(after.contains("whisperapi_http_request_duration_seconds_bucket{route=\"/api/v1/transcribe\",method=\"POST\",status=\"202\",le="))
            for name in [MetricName.uploadBytes, MetricName.webhookAttempts, MetricName.limitRefusals] {
                #expect(after.contains(name), "\(name) exists from the start")
            }

            // A worker takes a job with its plan's priority and the time it was queued (for the wait histogram).
            let job = try #require(try await harness.backend.leasing.claimNextJob(lockDuration: .seconds(30)))
            #expect(job.priority == Plan.pro.queuePriority)
            let waited = Date().timeIntervalSince(try #require(job.enqueuedAt))
            #expect(waited >= 0 && waited < 60)
            let scraped = try await metrics(client)
            #expect(sample(scraped, "whisperapi_queue_jobs{state=\"active\"}") == 1)
            #expect(sample(scraped, "whisperapi_queue_waiting_jobs{plan=\"PRO\"}") == 1)
        }
    }

    @Test
    func everyAnswerCarriesARequestIdAndACallersOwnIsKeptWhenItIsAShortToken() async throws {
        try await APIHarness.run { client, harness in
            let own = try await client.execute(uri: "/health", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "abc-123_4.5"])
            #expect(own.headers[HTTPField.Name("X-Request-Id")!] == "abc-123_4.5")
            let refused = try await client.execute(
                uri: "/api/v1/transcriptions", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "no spaces allowed"])
            #expect(refused.status == .unauthorized)
            let generated = try #require(refused.headers[HTTPField.Name("X-Request-Id")!])
            #expect(UUID(uuidString: generated) != nil)
            let openAI = try await client.execute(uri: "/v1/models", method: .get)
            #expect(openAI.status == .unauthorized && openAI.headers[HTTPField.Name("X-Request-Id")!] != nil)
        }
    }

    @Test
    func jsonLogLinesCarryTheTimeLevelMessageAndMetadata() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString).jsonl")
        FileManager.default.createFile(atPath: file.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: file) }
        let handle = try FileHandle(forWritingTo: file)
        var logger = Logger(label: "test") { JSONLogHandler(label: $0, level: .info, output: JSONLineOutput(handle: handle)) }
        logger[metadataKey: "requestId"] = "r-1"
        logger.info("job started", metadata: ["jobId": "j-1", "attempt": .stringConvertible(2)])
        logger.debug("below the level")
        logger.warning("quote \" and newline\n stay one line")
        try handle.close()
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
        #expect(first["message"] == "job started" && first["level"] == "info" && first["label"] == "test")
        #expect(first["requestId"] == "r-1" && first["jobId"] == "j-1" && first["attempt"] == "2")
        let stamp = try #require(first["timestamp"])
        #expect(stamp.hasSuffix("Z") && (try? Date(stamp, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) != nil)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: String])
        #expect(second["message"] == "quote \" and newline\n stay one line")
    }
}
