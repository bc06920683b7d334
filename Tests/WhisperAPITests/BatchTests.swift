import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import Server
import Services
import Testing
import Webhooks
import WhisperAPICore

/// `POST /api/v1/batches` and what follows: refusal up front, status, the one webhook, the zip.
struct BatchTests {
    func submitBatch(_ client: any TestClientProtocol, key: String, files: Int, fields: [String: String] = [:]) async throws -> TestResponse {
        var form = Multipart()
        for index in 0..<files { form.file(wavBytes(1600 + index * 160), filename: "clip\(index).wav") }
        for (name, value) in fields { form.field(name, value) }
        var headers = form.headers
        headers[.authorization] = "Bearer \(key)"
        return try await client.execute(uri: "/api/v1/batches", method: .post, headers: headers, body: form.body)
    }

    @Test(arguments: DatabaseDriver.available)
    func aBatchMakesOneTranscriptionPerItemInOrderAndEndsOnceWithItsLastItem(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let response = try await submitBatch(client, key: harness.proKey, files: 3, fields: ["format": "srt"])
            #expect(response.status == .accepted)
            let batch = try dataField(response)
            let batchId = try #require((batch["id"] as? String).flatMap(UUID.init(uuidString:)))
            let items = try #require(batch["items"] as? [[String: Any]])
            #expect(items.compactMap { $0["originalFilename"] as? String } == ["clip0.wav", "clip1.wav", "clip2.wav"])
            #expect(harness.storedFiles().count == 3)
            let rows = try await harness.backend.batches.items(of: batchId)
            #expect(rows.map(\.batchId) == Array(repeating: batchId, count: 3))
            #expect(rows.allSatisfy { $0.format == .srt && $0.webhookURL == nil }, "items send no webhooks of their own")

            let early = try await client.get("/api/v1/batches/\(batchId.lowercasedString)/result", key: harness.proKey)
            #expect(early.status == .conflict)
            #expect(try await client.get("/api/v1/batches/\(batchId.lowercasedString)", key: harness.freeKey).status == .notFound)

            // Items end one by one; only the last one ends the batch, and only once however often it is checked.
            let sent = SentWebhooks()
            let completion = BatchCompletion(batches: harness.backend.batches, webhooks: WebhookNotifier(queue: sent))
            for (index, row) in rows.enumerated() {
                let ended = try #require(try await harness.backend.transcriptions.update(id: row.id) {
                    $0.status = index == 0 ? .failed : .completed
                })
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<4 { group.addTask { try await completion.itemEnded(ended) } }
                    try await group.waitForAll()
                }
                #expect(await sent.jobs.isEmpty, "no webhook URL: nothing is sent")
                let status = try dataField(try await client.get("/api/v1/batches/\(batchId.lowercasedString)", key: harness.proKey))
                #expect(status["status"] as? String == (index == rows.count - 1 ? "COMPLETED" : "PROCESSING"))
            }
            let done = try #require(try await harness.backend.batches.find(id: batchId, owner: nil))
            #expect(done.completedAt != nil)
            let counts = try #require(try dataField(try await client.get("/api/v1/batches/\(batchId.lowercasedString)", key: harness.proKey))["counts"] as? [String: Int])
            #expect(counts["COMPLETED"] == 2 && counts["FAILED"] == 1 && counts.values.reduce(0, +) == 3)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func theCallersBatchesAreListedNewestFirstPageByPageAndNoOneElses(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            var submitted: [String] = []
            for files in 1...3 {
                let batch = try dataField(try await submitBatch(client, key: harness.proKey, files: files))
                submitted.append(try #require(batch["id"] as? String))
            }
            _ = try await submitBatch(client, key: harness.freeKey, files: 1)
            var listed: [String] = []
            var created: [String] = []
            var cursor: String?
            repeat {
                let query = "limit=2" + (cursor.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? "")
                let page = try dataField(try await client.get("/api/v1/batches?\(query)", key: harness.proKey))
                let batches = try #require(page["items"] as? [[String: Any]])
                #expect(batches.count <= 2)
                listed += batches.compactMap { $0["id"] as? String }
                created += batches.compactMap { $0["createdAt"] as? String }
                for batch in batches {
                    let items = try #require(batch["items"] as? [[String: Any]])
                    #expect(batch["total"] as? Int == items.count && !items.isEmpty, "each batch comes with its items")
                }
                cursor = page["nextCursor"] as? String
            } while cursor != nil
            #expect(listed.count == submitted.count && Set(listed) == Set(submitted), "every batch once, none of another user's")
            #expect(created == created.sorted(by: >), "newest first")
            #expect(try await client.get("/api/v1/batches?limit=0", key: harness.proKey).status == .badRequest)
            #expect(try await client.get("/api/v1/batches?cursor=nonsense", key: harness.proKey).status == .badRequest)
        }
    }

    @Test func theLastItemQueuesExactlyOneBatchWebhook() async throws {
        try await APIHarness.run(environment: ["WEBHOOK_ALLOW_PRIVATE": "true"]) { client, harness in
            let response = try await submitBatch(client, key: harness.proKey, files: 2, fields: ["webhook_url": "http://127.0.0.1:9/batch"])
            #expect(response.status == .accepted)
            let batchId = try #require((try dataField(response)["id"] as? String).flatMap(UUID.init(uuidString:)))
            let sent = SentWebhooks()
            let completion = BatchCompletion(batches: harness.backend.batches, webhooks: WebhookNotifier(queue: sent))
            var last: Transcription?
            for row in try await harness.backend.batches.items(of: batchId) {
                last = try await harness.backend.transcriptions.update(id: row.id) { $0.status = .completed }
            }
            let ended = try #require(last)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { try await completion.itemEnded(ended) } }
                try await group.waitForAll()
            }
            let jobs = await sent.jobs
            #expect(jobs.count == 1)
            #expect(jobs.first?.event == .batchCompleted && jobs.first?.url == "http://127.0.0.1:9/batch")
            let body = try #require(try JSONSerialization.jsonObject(with: Data((jobs.first?.body ?? "").utf8)) as? [String: Any])
            #expect(body["batchId"] as? String == batchId.lowercasedString && body["total"] as? Int == 2)
        }
    }

    @Test func retryingAnItemOfAnEndedBatchReopensItAndItsNextEndSendsAnotherWebhook() async throws {
        try await APIHarness.withBackend(environment: ["WEBHOOK_ALLOW_PRIVATE": "true"]) { harness, _ in
            let owner = try #require(try await harness.backend.users.find(email: "pro@example.com"))
            let batch = Batch(userId: owner.id, apiKeyId: UUID(), webhookURL: "http://127.0.0.1:9/batch")
            try await harness.backend.batches.insert(batch)
            let jobId = "retried-item"
            _ = try await harness.backend.queue.addTranscriptionJob(jobData(jobId), priority: 1, jobId: jobId)
            var item = Transcription(
                userId: owner.id, jobId: jobId, audioKey: "audio/x", model: "tiny.en", format: .json, fileSize: 1, batchId: batch.id)
            try await harness.backend.transcriptions.insert(item)
            let sent = SentWebhooks()
            let completion = BatchCompletion(batches: harness.backend.batches, webhooks: WebhookNotifier(queue: sent))
            let control = JobControl(
                transcriptions: harness.backend.transcriptions, queue: harness.backend.queue, storage: harness.backend.storage,
                batches: harness.backend.batches, batchCompletion: completion)
            // The item fails (as the status sync records it), is retried, and fails again.
            for round in 1...2 {
                let job = try #require(try await harness.backend.leasing.claimNextJob(lockDuration: .seconds(30)))
                try await harness.backend.leasing.failJob(job, reason: "ENGINE_ERROR: test", retryable: false)
                item = try #require(try await harness.backend.transcriptions.update(id: item.id) { $0.status = .failed })
                for _ in 0..<3 { try await completion.itemEnded(item) }  // replayed: still one webhook per end
                let jobs = await sent.jobs
                #expect(jobs.count == round && Set(jobs.map(\.id)).count == round, "one batch.completed per end of the batch")
                #expect(try await harness.backend.batches.find(id: batch.id, owner: nil)?.completedAt != nil)
                if round == 1 {
                    _ = try await control.retry(item)
                    #expect(try await harness.backend.batches.find(id: batch.id, owner: nil)?.completedAt == nil, "reopened")
                    item = try #require(try await harness.backend.transcriptions.find(id: item.id, owner: nil))
                }
            }
        }
    }

    @Test func aBatchThatCannotFitThePlanIsRefusedWithTheReasonAndStoresNothing() async throws {
        try await APIHarness.run(environment: ["PLAN_FREE_CONCURRENT_JOBS": "1"]) { client, harness in
            let refused = try await submitBatch(client, key: harness.freeKey, files: 3)
            #expect(refused.status.code == 422)
            #expect(try errorCode(refused) == "BATCH_TOO_LARGE")
            let message = try #require((try json(refused)["error"] as? [String: Any])?["message"] as? String)
            #expect(message.contains("FREE plan") || message.contains("free plan"), "\(message)")
            #expect(harness.storedFiles().isEmpty)
            let empty = try await submitBatch(client, key: harness.proKey, files: 0, fields: ["model": "tiny.en"])
            #expect(try errorCode(empty) == "EMPTY_BATCH")
            let badModel = try await submitBatch(client, key: harness.proKey, files: 2, fields: ["model": "large-v9"])
            #expect(try errorCode(badModel) == "INVALID_MODEL")
            #expect(harness.storedFiles().isEmpty, "a refused batch leaves no audio behind")
            let listed = try await client.get("/api/v1/transcriptions", key: harness.proKey)
            #expect((try dataField(listed)["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func theZipArchiveIsWhatZipReadersExpect() throws {
        #expect(ZipArchive.crc32(Array("123456789".utf8)) == 0xCBF4_3926, "the standard CRC-32 check value")
        var archive = ZipArchive()
        archive.add("a.txt", Array("hello".utf8))
        archive.add("b/c.srt", Array("1\n00:00:00,000 --> 00:00:01,000\nhi\n".utf8))
        let bytes = archive.finished()
        #expect(Array(bytes.prefix(4)) == [0x50, 0x4B, 0x03, 0x04])
        let end = Array(bytes.suffix(22))
        #expect(Array(end.prefix(4)) == [0x50, 0x4B, 0x05, 0x06])
        #expect(Int(end[10]) | Int(end[11]) << 8 == 2, "two entries")
    }
}

/// A webhook queue that records every job it is given (duplicates too).
actor SentWebhooks: WebhookQueue {
    private(set) var jobs: [WebhookJob] = []

    func add(_ job: WebhookJob) async throws {
        jobs.append(job)
    }

    func process(concurrency: Int, deliver: @escaping @Sendable (WebhookJob, Int) async throws -> Void) async throws {}

    func close() async {}
}
