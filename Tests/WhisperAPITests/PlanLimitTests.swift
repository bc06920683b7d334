import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Server
import Services
import Testing
import WhisperAPICore

/// Plans, rate limits, quotas, usage and the admin API, through the API. Each runs on SQLite with the
/// in-process limiter and on PostgreSQL with the Redis limiter and lock.
@Suite(.serialized) struct PlanLimitTests {
    func submit(_ client: any TestClientProtocol, key: String, fields: [String: String] = [:]) async throws -> TestResponse {
        var form = Multipart()
        form.file(wavBytes())
        for (name, value) in fields { form.field(name, value) }
        return try await client.submit(form, key: key)
    }

    func header(_ response: TestResponse, _ name: String) -> String? {
        response.headers[HTTPField.Name(name)!]
    }

    @Test(arguments: DatabaseDriver.available)
    func requestsOverTheRateAreRefusedUntilTheWindowResets(database: DatabaseDriver) async throws {
        // A window long enough that a loaded machine still sends the four requests inside one.
        let environment = ["PLAN_FREE_REQUESTS_PER_MINUTE": "3", "RATE_LIMIT_WINDOW_SECONDS": "4"]
        try await APIHarness.run(database: database, environment: environment) { client, harness in
            var remaining: [String?] = []
            for _ in 0..<3 {
                let response = try await client.get("/api/v1/transcriptions", key: harness.freeKey)
                #expect(response.status == .ok)
                #expect(header(response, "RateLimit-Limit") == "3")
                remaining.append(header(response, "RateLimit-Remaining"))
            }
            #expect(remaining == ["2", "1", "0"])
            let refused = try await client.get("/api/v1/transcriptions", key: harness.freeKey)
            #expect(refused.status == .tooManyRequests)
            #expect(try errorCode(refused) == "RATE_LIMITED")
            #expect(header(refused, "RateLimit-Remaining") == "0")
            let retryAfter = try #require(header(refused, "Retry-After").flatMap { Int($0) })
            #expect((1...4).contains(retryAfter))
            #expect(header(refused, "RateLimit-Reset") == String(retryAfter))
            #expect(try await client.get("/api/v1/transcriptions", key: harness.proKey).status == .ok, "each key has its own count")
            try await Task.sleep(for: .seconds(retryAfter) + .milliseconds(100))
            let again = try await client.get("/api/v1/transcriptions", key: harness.freeKey)
            #expect(again.status == .ok)
            #expect(header(again, "RateLimit-Remaining") == "2")
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func aFullQueueRefusesSubmissionsWith503AndStoresNothing(database: DatabaseDriver) async throws {
        // No workers here: every accepted job stays waiting.
        try await APIHarness.run(database: database, environment: ["QUEUE_MAX_WAITING": "3", "PLAN_FREE_MAX_WAITING": "1"]) { client, harness in
            #expect(try await submit(client, key: harness.freeKey).status == .accepted)
            let free = try await submit(client, key: harness.freeKey)
            #expect(free.status == .serviceUnavailable)
            #expect(try errorCode(free) == "QUEUE_FULL")
            #expect(header(free, "Retry-After") == "30")
            #expect(try await submit(client, key: harness.proKey).status == .accepted, "the FREE plan's limit is its own")
            #expect(try await submit(client, key: harness.proKey).status == .accepted)
            let full = try await submit(client, key: harness.proKey)
            #expect(full.status == .serviceUnavailable)
            #expect(try errorCode(full) == "QUEUE_FULL")
            #expect(harness.storedFiles().count == 3, "a refused submission stores nothing")
            let listed = try await client.get("/api/v1/transcriptions", key: harness.proKey)
            #expect((try dataField(listed)["items"] as? [Any])?.count == 2)
            // A job that leaves the queue makes room again.
            let job = try #require(try await harness.backend.leasing.claimNextJob(lockDuration: .seconds(30)))
            #expect(!job.id.isEmpty)
            #expect(try await submit(client, key: harness.proKey).status == .accepted)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func twentySimultaneousSubmitsFromAFreeUserAcceptExactlyOne(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database, environment: ["PLAN_FREE_CONCURRENT_JOBS": "1"]) { client, harness in
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        let response = try await submit(client, key: harness.freeKey)
                        return (response.status, try? errorCode(response))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == .accepted }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0.0 == .tooManyRequests && $0.1 == "TOO_MANY_CONCURRENT_JOBS" }.count == 19)
            #expect(harness.storedFiles().count == 1, "refused uploads leave nothing behind")
            let refused = try await submit(client, key: harness.freeKey)
            #expect(header(refused, "Retry-After") != nil)
            // Once the job ends, the slot is free again.
            let leasing = harness.backend.leasing
            let job = try #require(try await leasing.claimNextJob(lockDuration: .seconds(30)))
            try await leasing.failJob(job, reason: "INVALID_AUDIO: silence", retryable: false)
            let owner = try #require(try await harness.backend.users.find(email: "free@example.com"))
            try await waitFor { try await harness.backend.transcriptions.activeCount(owner: owner.id) == 0 }
            #expect(try await submit(client, key: harness.freeKey).status == .accepted)
            #expect(try await submit(client, key: harness.proKey).status == .accepted, "another user has their own slots")
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func usageIsMeteredOncePerCompletedJobAndTheQuotaIsEnforced(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database, environment: ["PLAN_FREE_MONTHLY_MINUTES": "1"]) { client, harness in
            let leasing = harness.backend.leasing
            var durations: [Double] = []
            for duration in [25.5, 40.25] {
                let id = try #require(try dataField(try await submit(client, key: harness.freeKey))["transcriptionId"] as? String)
                let job = try #require(try await leasing.claimNextJob(lockDuration: .seconds(30)))
                if duration == 40.25 {
                    // A failed attempt and a retry before it completes: still metered once.
                    try await leasing.failJob(job, reason: "ENGINE_CRASHED: test", retryable: false)
                    try await waitFor { try dataField(try await client.get("/api/v1/status/\(id)", key: harness.freeKey))["status"] as? String == "FAILED" }
                    let retried = try await client.execute(uri: "/api/v1/transcriptions/\(id)/retry", method: .post, headers: [.authorization: "Bearer \(harness.freeKey)"])
                    #expect(retried.status == .ok)
                }
                let running = duration == 40.25 ? try #require(try await leasing.claimNextJob(lockDuration: .seconds(30))) : job
                let key = StorageKeys.result(user: running.data.userId, transcription: running.data.transcriptionId)
                try await harness.backend.storage.write(key: key, data: try JSONEncoder().encode(
                    TranscriptResult(text: "x", language: "en", duration: duration, model: "tiny.en", segments: [])))
                try await leasing.completeJob(running, result: TranscriptionJobResult(
                    s3ResultUrl: key, durationSeconds: duration, completedAt: Date().formatted(.iso8601), language: "en"))
                try await waitFor { try dataField(try await client.get("/api/v1/status/\(id)", key: harness.freeKey))["status"] as? String == "COMPLETED" }
                durations.append(duration)
            }
            // The status turns COMPLETED a moment before its usage is recorded (one write after the other).
            try await waitFor { try dataField(try await client.get("/api/v1/usage", key: harness.freeKey))["jobs"] as? Int == 2 }
            // The same completion applied again (a replayed event, a second server) is not counted twice.
            let owner = try #require(try await harness.backend.users.find(email: "free@example.com"))
            for row in try await harness.backend.transcriptions.list(owner: owner.id, limit: 10, after: nil) {
                #expect(try await harness.backend.usage.record(
                    transcriptionId: row.id, userId: owner.id, audioSeconds: row.durationSeconds ?? 0, completedAt: Date()) == false)
            }
            let usage = try dataField(try await client.get("/api/v1/usage", key: harness.freeKey))
            #expect(usage["audioSeconds"] as? Double == durations.reduce(0, +))
            #expect(usage["jobs"] as? Int == 2)
            #expect(usage["quotaMinutes"] as? Int == 1)
            #expect(usage["remainingMinutes"] as? Double == 0)
            #expect(usage["period"] as? String == UsagePeriod(containing: Date()).description)
            let over = try await submit(client, key: harness.freeKey)
            #expect(over.status == .tooManyRequests)
            #expect(try errorCode(over) == "QUOTA_EXCEEDED")
            let retryAfter = try #require(header(over, "Retry-After").flatMap { Double($0) })
            #expect(abs(retryAfter - UsagePeriod(containing: Date()).end.timeIntervalSinceNow) < 5, "until the next month")
            #expect(try dataField(try await client.get("/api/v1/usage", key: harness.proKey))["jobs"] as? Int == 0, "usage is per user")
        }
    }

    @Test func aPlansModelsAndUploadSizeAreItsOwn() async throws {
        let environment = ["PLAN_FREE_MODELS": "tiny.en", "PLAN_FREE_MAX_FILE_SIZE": "2048"]
        try await APIHarness.run(environment: environment) { client, harness in
            let model = try await submit(client, key: harness.proKey, fields: ["model": "base"])
            #expect(model.status == .accepted)
            var small = Multipart()
            small.file(Array(wavBytes(200)))
            small.field("model", "base")
            let refused = try await client.submit(small, key: harness.freeKey)
            #expect(refused.status == .forbidden)
            #expect(try errorCode(refused) == "MODEL_NOT_IN_PLAN")
            let large = try await submit(client, key: harness.freeKey)
            #expect(large.status == .contentTooLarge, "the FREE plan's 2 KB limit, under the service's own")
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func theAdminAPIManagesUsersPlansKeysAndTheQueueForAdminsOnly(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let actions = harness.backend.administration
            _ = try await actions.createUser(email: "root@example.com", plan: .payg, isAdmin: true)
            let admin = try await actions.createKey(email: "root@example.com", name: "admin").key
            func call(_ method: HTTPRequest.Method, _ uri: String, key: String, body: String? = nil) async throws -> TestResponse {
                var headers: HTTPFields = [.authorization: "Bearer \(key)"]
                if body != nil { headers[.contentType] = "application/json" }
                return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
            }
            for (method, uri) in [(HTTPRequest.Method.get, "/api/v1/admin/users"), (.post, "/api/v1/admin/users"), (.get, "/api/v1/admin/queue"),
                                  (.post, "/api/v1/admin/queue/cleanup"), (.delete, "/api/v1/admin/keys/wapi_abcdefgh")] {
                let refused = try await call(method, uri, key: harness.freeKey, body: "{}")
                #expect(refused.status == .forbidden, "\(method) \(uri)")
                #expect(try errorCode(refused) == "FORBIDDEN")
            }
            let created = try await call(.post, "/api/v1/admin/users", key: admin, body: #"{"email": "new@example.com", "plan": "FREE"}"#)
            #expect(created.status == .created)
            let userId = try #require(try dataField(created)["id"] as? String)
            #expect(try await call(.post, "/api/v1/admin/users", key: admin, body: #"{"email": "new@example.com"}"#).status == .conflict)
            #expect(try errorCode(try await call(.post, "/api/v1/admin/users", key: admin, body: #"{"email": "x@example.com", "plan": "GOLD"}"#)) == "INVALID_PLAN")
            let users = try #require(try dataField(try await call(.get, "/api/v1/admin/users", key: admin))["items"] as? [[String: Any]])
            #expect(Set(users.compactMap { $0["email"] as? String }) == ["free@example.com", "pro@example.com", "root@example.com", "new@example.com"])
            let changed = try await call(.patch, "/api/v1/admin/users/\(userId)", key: admin, body: #"{"plan": "PRO"}"#)
            #expect(try dataField(changed)["plan"] as? String == "PRO")
            #expect(try await call(.get, "/api/v1/admin/users/nobody@example.com", key: admin).status == .notFound)

            let newKey = try await call(.post, "/api/v1/admin/users/new@example.com/keys", key: admin, body: #"{"name": "ci"}"#)
            #expect(newKey.status == .created)
            let key = try #require(try dataField(newKey)["key"] as? String)
            let prefix = try #require(try dataField(newKey)["prefix"] as? String)
            #expect((try dataField(newKey)["webhookSecret"] as? String)?.hasPrefix("whsec_") == true)
            let keys = try #require(try dataField(try await call(.get, "/api/v1/admin/users/\(userId)/keys", key: admin))["items"] as? [[String: Any]])
            #expect(keys.compactMap { $0["prefix"] as? String } == [prefix])
            #expect(keys.allSatisfy { $0["key"] == nil && $0["hash"] == nil }, "a listed key never shows its secret")
            let usage = try dataField(try await call(.get, "/api/v1/usage", key: key))
            #expect(usage["plan"] as? String == "PRO" && usage["quotaMinutes"] as? Int == 6000, "the new plan applies at once")
            #expect(try await call(.delete, "/api/v1/admin/keys/\(prefix)", key: admin).status == .ok)
            #expect(try await call(.get, "/api/v1/usage", key: key).status == .unauthorized, "a revoked key is refused at once")
            #expect(try await call(.delete, "/api/v1/admin/keys/\(prefix)", key: admin).status == .notFound)

            _ = try await submit(client, key: harness.proKey)
            let stats = try dataField(try await call(.get, "/api/v1/admin/queue", key: admin))
            #expect(stats["waiting"] as? Int == 1)
            #expect(try dataField(try await call(.post, "/api/v1/admin/queue/cleanup", key: admin))["removed"] as? Int == 0)
            let adminUsage = try dataField(try await call(.get, "/api/v1/admin/users/pro@example.com/usage", key: admin))
            #expect(adminUsage["jobs"] as? Int == 0 && adminUsage["plan"] as? String == "PRO")
        }
    }
}
