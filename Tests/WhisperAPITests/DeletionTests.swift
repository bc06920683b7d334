import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WhisperAPICore

/// `DELETE /api/v1/transcriptions/:id` and an admin's `DELETE /api/v1/admin/users/:user/data`.
struct DeletionTests {
    func submit(_ client: any TestClientProtocol, key: String) async throws -> String {
        var form = Multipart()
        form.file(wavBytes())
        let response = try await client.submit(form, key: key)
        #expect(response.status == .accepted)
        return try #require(try dataField(response)["transcriptionId"] as? String)
    }

    func delete(_ client: any TestClientProtocol, _ uri: String, key: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .delete, headers: [.authorization: "Bearer \(key)"])
    }

    @Test(arguments: DatabaseDriver.available)
    func aDeletedTranscriptionLeavesNoRowJobOrObjectAndOthersCannotDeleteIt(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let id = try await submit(client, key: harness.proKey)
            let uuid = try #require(UUID(uuidString: id))
            let row = try #require(try await harness.backend.transcriptions.find(id: uuid, owner: nil))
            // A result as a worker would have stored it, so that the delete has one to remove.
            let resultKey = StorageKeys.result(user: row.userId.lowercasedString, transcription: id)
            try await harness.backend.storage.write(key: resultKey, data: Data("{}".utf8))
            #expect(harness.storedFiles().count == 2)

            #expect(try await delete(client, "/api/v1/transcriptions/\(id)", key: harness.freeKey).status == .notFound, "not the owner")
            #expect(try await delete(client, "/api/v1/transcriptions/\(id)", key: harness.proKey).status == .noContent)
            #expect(harness.storedFiles().isEmpty)
            #expect(try await client.get("/api/v1/transcriptions/\(id)", key: harness.proKey).status == .notFound)
            #expect(try await harness.backend.queue.getJobStatus(row.jobId ?? "") == nil, "the job is gone from the queue")
            #expect(try await delete(client, "/api/v1/transcriptions/\(id)", key: harness.proKey).status == .notFound)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func anAdminDeletesAUsersDataAndTheUserStays(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            for _ in 0..<3 { _ = try await submit(client, key: harness.freeKey) }
            let kept = try await submit(client, key: harness.proKey)
            let admin = try await harness.backend.administration.createUser(email: "root@example.com", plan: .payg, isAdmin: true)
            let adminKey = try await harness.backend.administration.createKey(email: admin.email, name: nil).key
            #expect(try await delete(client, "/api/v1/admin/users/free@example.com/data", key: harness.proKey).status == .forbidden)
            let answer = try await delete(client, "/api/v1/admin/users/free@example.com/data", key: adminKey)
            #expect(answer.status == .ok)
            #expect(try dataField(answer)["deleted"] as? Int == 3)
            let listed = try await client.get("/api/v1/transcriptions", key: harness.freeKey)
            #expect(listed.status == .ok, "the user and their key stay")
            #expect((try dataField(listed)["items"] as? [Any])?.isEmpty == true)
            #expect(harness.storedFiles().count == 1, "only the other user's audio is left")
            #expect(try await client.get("/api/v1/transcriptions/\(kept)", key: harness.proKey).status == .ok)
        }
    }
}
