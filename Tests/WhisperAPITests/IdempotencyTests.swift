import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WhisperAPICore

/// `Idempotency-Key` on the submit routes: a repeated request answers the first one's transcription and stores nothing.
struct IdempotencyTests {
    func submit(_ client: any TestClientProtocol, key: String, idempotencyKey: String?, audio: [UInt8] = wavBytes(), model: String = "tiny.en")
        async throws -> TestResponse
    {
        var form = Multipart()
        form.file(audio)
        form.field("model", model)
        var headers = form.headers
        headers[.authorization] = "Bearer \(key)"
        if let idempotencyKey { headers[HTTPField.Name("Idempotency-Key")!] = idempotencyKey }
        return try await client.execute(uri: "/api/v1/transcribe", method: .post, headers: headers, body: form.body)
    }

    func transcriptionId(_ response: TestResponse) throws -> String {
        try #require(try dataField(response)["transcriptionId"] as? String)
    }

    @Test(arguments: DatabaseDriver.available)
    func aRepeatedRequestAnswersTheFirstTranscriptionAndADifferentOneIs422(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let first = try await submit(client, key: harness.proKey, idempotencyKey: "order-42")
            #expect(first.status == .accepted)
            let again = try await submit(client, key: harness.proKey, idempotencyKey: "order-42")
            #expect(again.status == .accepted)
            #expect(try transcriptionId(again) == transcriptionId(first))
            #expect(harness.storedFiles().count == 1, "the repeat stored nothing")

            let otherAudio = try await submit(client, key: harness.proKey, idempotencyKey: "order-42", audio: wavBytes(3200))
            #expect(otherAudio.status.code == 422)
            #expect(try errorCode(otherAudio) == "IDEMPOTENCY_KEY_REUSED")
            let otherModel = try await submit(client, key: harness.proKey, idempotencyKey: "order-42", model: "base")
            #expect(otherModel.status.code == 422)
            #expect(try errorCode(otherModel) == "IDEMPOTENCY_KEY_REUSED")
            #expect(harness.storedFiles().count == 1)

            // Keys are per user, a new key is a new request, and a key must be a short visible token.
            #expect(try await submit(client, key: harness.freeKey, idempotencyKey: "order-42").status == .accepted)
            #expect(try await submit(client, key: harness.proKey, idempotencyKey: "order-43").status == .accepted)
            let bad = try await submit(client, key: harness.proKey, idempotencyKey: "has spaces in it")
            #expect(bad.status == .badRequest)
            #expect(try errorCode(bad) == "INVALID_IDEMPOTENCY_KEY")
            let listed = try await client.get("/api/v1/transcriptions", key: harness.proKey)
            #expect((try dataField(listed)["items"] as? [Any])?.count == 2)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func tenIdenticalRequestsAtOnceMakeOneTranscription(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let ids = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        let response = try await submit(client, key: harness.proKey, idempotencyKey: "burst-1")
                        return (response.status, try? transcriptionId(response))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(ids.allSatisfy { $0.0 == .accepted }, "\(ids)")
            #expect(Set(ids.compactMap(\.1)).count == 1, "\(ids)")
            #expect(harness.storedFiles().count == 1)
            let listed = try await client.get("/api/v1/transcriptions", key: harness.proKey)
            #expect((try dataField(listed)["items"] as? [Any])?.count == 1)
        }
    }
}
