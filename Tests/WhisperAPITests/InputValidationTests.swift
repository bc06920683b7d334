import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Server
import Services
import Testing
import WhisperAPICore

/// Input that used to be accepted, misreported or fatal: each is now a typed 4xx or a clear start-up message.
@Suite struct InputValidationTests {
    func createUser(_ client: any TestClientProtocol, admin: String, body: String) async throws -> TestResponse {
        try await client.execute(
            uri: "/api/v1/admin/users", method: .post, headers: [.authorization: "Bearer \(admin)", .contentType: "application/json"],
            body: ByteBuffer(string: body))
    }

    @Test func aMalformedEmailIs400InvalidEmail() async throws {
        try await APIHarness.run { client, harness in
            let actions = harness.backend.administration
            _ = try await actions.createUser(email: "root@example.com", plan: .payg, isAdmin: true)
            let admin = try await actions.createKey(email: "root@example.com", name: nil).key
            for email in ["", "   ", "no-at-sign", "two@at@signs", "spaces in@example.com", String(repeating: "a", count: 1_000_000) + "@example.com"] {
                let response = try await createUser(client, admin: admin, body: #"{"email": "\#(email)"}"#)
                #expect(response.status == .badRequest, "\(email.prefix(20))")
                #expect(try errorCode(response) == "INVALID_EMAIL", "\(email.prefix(20))")
            }
            let created = try await createUser(client, admin: admin, body: #"{"email": "Someone@Example.com"}"#)
            #expect(created.status == .created)
            let again = try await createUser(client, admin: admin, body: #"{"email": "someone@example.com"}"#)
            #expect(try again.status == .conflict && errorCode(again) == "EMAIL_TAKEN")
        }
    }

    @Test func unknownValuesOfOpenAIsEnumFieldsAre400InOpenAIsEnvelope() async throws {
        try await APIHarness.run { client, harness in
            for (field, value, param) in [
                ("timestamp_granularities[]", "char", "timestamp_granularities[]"), ("timestamp_granularities[]", "word,sentence", "timestamp_granularities[]"),
                ("stream", "maybe", "stream"), ("response_format", "docx", "response_format"),
            ] {
                var form = Multipart()
                form.file(wavBytes())
                form.field(field, value)
                var headers = form.headers
                headers[.authorization] = "Bearer \(harness.proKey)"
                let response = try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers, body: form.body)
                #expect(response.status == .badRequest, "\(field)=\(value)")
                let error = try #require(try json(response)["error"] as? [String: Any])
                #expect(error["param"] as? String == param, "\(field)=\(value)")
                #expect(error["type"] as? String == "invalid_request_error")
            }
            #expect(harness.storedFiles().isEmpty, "nothing is kept of a refused request")
        }
    }

    @Test func everySettingIsCheckedAndNamedWhenWrong() throws {
        #expect(ServiceConfiguration(environment: [:]).invalidSettings.isEmpty)
        let good = ServiceConfiguration(environment: [
            "PORT": "9000", "REDIS_URL": "rediss://cache:6380", "DATABASE_URL": "postgres://u:p@db/w", "WEBHOOK_ALLOW_PRIVATE": "true",
            "PLAN_FREE_MONTHLY_MINUTES": "unlimited", "PLAN_PRO_MODELS": "tiny.en, base", "PUBLIC_URL": "https://speech.example.com",
            "PLAN_FREE_AUDIO_RETENTION_HOURS": "forever", "PLAN_PRO_RESULT_RETENTION_DAYS": "0.5", "INTAKE_TIMEOUT_SECONDS": "30",
        ])
        #expect(good.invalidSettings.isEmpty, "\(good.invalidSettings)")
        #expect(good.port == 9000 && good.webhookAllowPrivate)
        #expect(good.planPolicy.limits(for: .free).audioRetention == nil, "kept forever")
        #expect(good.planPolicy.limits(for: .pro).resultRetention == .seconds(43200))
        #expect(good.planPolicy.limits(for: .payg).audioRetention == .seconds(86400), "the default: a day")
        let bad = ServiceConfiguration(environment: [
            "PORT": "80a", "QUEUE_CONCURRENCY": "-1", "JOB_RETENTION_HOURS": "a day", "WEBHOOK_ALLOW_PRIVATE": "maybe",
            "REDIS_URL": "http://cache:6379", "DATABASE_URL": "mysql://db", "PLAN_FREE_MODELS": "gpt-5", "PLAN_PRO_CONCURRENT_JOBS": "0",
            "LOG_LEVEL": "loud", "PUBLIC_URL": "speech.example.com", "PLAN_PAYG_AUDIO_RETENTION_HOURS": "soon",
            "PLAN_FREE_RESULT_RETENTION_DAYS": "-1", "INTAKE_ALLOW_PRIVATE": "perhaps", "SHUTDOWN_GRACE_SECONDS": "half a minute",
        ])
        for name in [
            "PORT", "QUEUE_CONCURRENCY", "JOB_RETENTION_HOURS", "WEBHOOK_ALLOW_PRIVATE", "REDIS_URL", "DATABASE_URL", "PLAN_FREE_MODELS",
            "PLAN_PRO_CONCURRENT_JOBS", "LOG_LEVEL", "PUBLIC_URL", "PLAN_PAYG_AUDIO_RETENTION_HOURS", "PLAN_FREE_RESULT_RETENTION_DAYS",
            "INTAKE_ALLOW_PRIVATE", "SHUTDOWN_GRACE_SECONDS",
        ] {
            #expect(bad.invalidSettings.contains { $0.hasPrefix(name + " ") }, "\(name): \(bad.invalidSettings)")
        }
        #expect(throws: InvalidSettings.self) { try bad.validated() }
        let s3 = ["S3_BUCKET": "b", "S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s"]
        for (name, value) in [("S3_ENDPOINT", "htp//minio:9000"), ("S3_ENDPOINT", "http://"), ("S3_FORCE_PATH_STYLE", "sometimes")] {
            let problems = ServiceConfiguration(environment: s3.merging([name: value]) { $1 }).invalidSettings
            #expect(problems.contains { $0.hasPrefix(name + " ") }, "\(name)=\(value): \(problems)")
        }
        #expect(ServiceConfiguration(environment: ["S3_BUCKET": "b"]).invalidSettings.contains { $0.hasPrefix("S3_BUCKET ") })
        let store = try #require(ServiceConfiguration(environment: s3.merging(["S3_ENDPOINT": "http://minio:9000", "S3_FORCE_PATH_STYLE": "true"]) { $1 }).objectStore)
        #expect(store == ObjectStoreSettings(
            bucket: "b", region: "us-east-1", endpoint: "http://minio:9000", accessKeyId: "k", secretAccessKey: "s", forcePathStyle: true))
    }

    @Test func readinessNamesTheServiceThatDoesNotAnswer() async throws {
        try await APIHarness.run { client, _ in
            // Each probe has 2 s; the first opens its connections, which a machine busy with Whisper can stretch past
            // that, so a healthy server must answer 200 within a few tries rather than at the first.
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<5 where statuses.last != .ok {
                statuses.append(try await client.execute(uri: "/ready", method: .get).status)
            }
            #expect(statuses.last == .ok, "answers: \(statuses)")
        }
        let dead = [
            "S3_BUCKET": "gone", "S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s", "S3_ENDPOINT": "http://127.0.0.1:9", "S3_FORCE_PATH_STYLE": "true",
        ]
        try await APIHarness.run(environment: dead) { client, _ in
            let ready = try await client.execute(uri: "/ready", method: .get)
            #expect(ready.status == .serviceUnavailable)
            let error = try #require(try json(ready)["error"] as? [String: Any])
            #expect(error["code"] as? String == "SERVICE_NOT_READY" && error["allowed"] as? [String] == ["storage"])
        }
    }
}
