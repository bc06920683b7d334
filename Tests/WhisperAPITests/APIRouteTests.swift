import Engine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Server
import Services
import Testing
import WhisperAPICore

@Suite(.serialized) struct AuthTests {
    @Test(arguments: DatabaseDriver.available)
    func missingMalformedUnknownAndRevokedKeysAre401(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let missing = try await client.execute(uri: "/api/v1/transcriptions", method: .get)
            #expect(missing.status == .unauthorized)
            #expect(try errorCode(missing) == "UNAUTHORIZED")
            for header in ["Bearer nonsense", "Basic abc", "Bearer " + APIKeyMaterial.generate().plaintext] {
                let response = try await client.execute(uri: "/api/v1/transcriptions", method: .get, headers: [.authorization: header])
                #expect(response.status == .unauthorized)
                #expect(try errorCode(response) == "INVALID_API_KEY")
            }
            #expect(try await client.get("/api/v1/transcriptions", key: harness.freeKey).status == .ok)
            try await harness.backend.administration.revokeKey(prefix: try #require(APIKeyMaterial.prefix(of: harness.freeKey)))
            let revoked = try await client.get("/api/v1/transcriptions", key: harness.freeKey)
            #expect(revoked.status == .unauthorized)
            #expect(try errorCode(revoked) == "INVALID_API_KEY")
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func keysAreStoredOnlyAsHashes(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { _, harness in
            let prefix = try #require(APIKeyMaterial.prefix(of: harness.freeKey))
            let record = try #require(try await harness.backend.users.key(prefix: prefix))
            #expect(record.hash == APIKeyMaterial.hash(harness.freeKey))
            #expect(!record.hash.contains(harness.freeKey))
        }
    }
}

@Suite(.serialized) struct UploadTests {
    @Test(arguments: DatabaseDriver.available)
    func audioIsQueuedWithThePlansPriorityUnderAGeneratedKey(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            var form = Multipart()
            form.field("model", "whisper-1")
            form.file(wavBytes(), filename: "../../etc/passwd.wav")
            form.field("format", "srt")
            let response = try await client.submit(form, key: harness.proKey)
            #expect(response.status == .accepted)
            let data = try dataField(response)
            #expect(data["status"] as? String == "QUEUED")
            let id = try #require(data["transcriptionId"] as? String)
            let jobId = try #require(data["jobId"] as? String)
            let job = try #require(try await harness.backend.queue.getJobStatus(jobId))
            #expect(job.priority == Plan.pro.queuePriority)
            #expect(job.data.model == WhisperModels.defaultModel)
            #expect(job.data.format == "srt")
            #expect(job.data.s3AudioUrl.hasPrefix("audio/"))
            #expect(!job.data.s3AudioUrl.contains("passwd"))
            #expect(harness.storedFiles() == [job.data.s3AudioUrl])
            let status = try dataField(try await client.get("/api/v1/status/\(id)", key: harness.proKey))
            #expect(status["status"] as? String == "QUEUED")
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func textRenamedAsAudioIs415AndLeavesNothing(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            var form = Multipart()
            form.file(Array("this is just some text, not audio at all".utf8), filename: "speech.mp3")
            let response = try await client.submit(form, key: harness.freeKey)
            #expect(response.status == .unsupportedMediaType)
            #expect(try errorCode(response) == "UNSUPPORTED_MEDIA_TYPE")
            #expect(harness.storedFiles().isEmpty)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func oversizedUploadsAre413AndThePartialFileIsRemoved(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database, maxUploadBytes: 4096) { client, harness in
            var form = Multipart()
            form.file(wavBytes(8000))
            let response = try await client.submit(form, key: harness.freeKey)
            #expect(response.status == .contentTooLarge)
            #expect(try errorCode(response) == "FILE_TOO_LARGE")
            #expect(harness.storedFiles().isEmpty)
            #expect(try await harness.backend.queue.getQueueStats() == QueueStats())
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func emptyAndMissingFilesAre400(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            var empty = Multipart()
            empty.file([])
            let emptyResponse = try await client.submit(empty, key: harness.freeKey)
            #expect(emptyResponse.status == .badRequest)
            #expect(try errorCode(emptyResponse) == "EMPTY_FILE")
            var missing = Multipart()
            missing.field("model", "tiny.en")
            let missingResponse = try await client.submit(missing, key: harness.freeKey)
            #expect(missingResponse.status == .badRequest)
            #expect(try errorCode(missingResponse) == "MISSING_FILE")
            let notMultipart = try await client.execute(
                uri: "/api/v1/transcribe", method: .post,
                headers: [.authorization: "Bearer \(harness.freeKey)", .contentType: "text/plain"],
                body: ByteBuffer(string: "{}"))
            #expect(notMultipart.status == .badRequest)
            #expect(try errorCode(notMultipart) == "INVALID_MULTIPART")
            // A JSON body names an audio_url; without one there is nothing to transcribe.
            let noURL = try await client.execute(
                uri: "/api/v1/transcribe", method: .post,
                headers: [.authorization: "Bearer \(harness.freeKey)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"model": "tiny.en"}"#))
            #expect(noURL.status == .badRequest)
            #expect(try errorCode(noURL) == "MISSING_FILE")
            let notAnObject = try await client.execute(
                uri: "/api/v1/transcribe", method: .post,
                headers: [.authorization: "Bearer \(harness.freeKey)", .contentType: "application/json"],
                body: ByteBuffer(string: #"["https://example.com/a.wav"]"#))
            #expect(try errorCode(notAnObject) == "INVALID_BODY")
            #expect(harness.storedFiles().isEmpty)
        }
    }

    @Test(arguments: [
        ("model", "large-v9", "INVALID_MODEL"),
        ("format", "docx", "INVALID_FORMAT"),
        ("task", "summarise", "INVALID_TASK"),
        ("language", "no such language", "INVALID_LANGUAGE"),
    ])
    func unknownOptionsAre400WithTheAllowedValues(field: String, value: String, code: String) async throws {
        try await APIHarness.run { client, harness in
            var form = Multipart()
            form.file(wavBytes())
            form.field(field, value)
            let response = try await client.submit(form, key: harness.freeKey)
            #expect(response.status == .badRequest)
            #expect(try errorCode(response) == code)
            if code != "INVALID_LANGUAGE" {
                let allowed = (try json(response)["error"] as? [String: Any])?["allowed"] as? [String]
                #expect(allowed?.isEmpty == false)
            }
            #expect(harness.storedFiles().isEmpty)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func translateNeedsAMultilingualModel(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            var form = Multipart()
            form.file(wavBytes())
            form.field("task", "translate")
            let refused = try await client.submit(form, key: harness.freeKey)
            #expect(refused.status == .badRequest)
            var good = Multipart()
            good.file(wavBytes())
            good.field("task", "translate")
            good.field("model", "base")
            let accepted = try await client.submit(good, key: harness.freeKey)
            #expect(accepted.status == .accepted)
        }
    }
}

@Suite(.serialized) struct ReadAPITests {
    func submit(_ client: any TestClientProtocol, key: String) async throws -> String {
        var form = Multipart()
        form.file(wavBytes())
        return try #require(try dataField(try await client.submit(form, key: key))["transcriptionId"] as? String)
    }

    @Test(arguments: DatabaseDriver.available)
    func anotherUsersTranscriptionIsA404Everywhere(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let id = try await submit(client, key: harness.proKey)
            for uri in [
                "/api/v1/status/\(id)", "/api/v1/transcriptions/\(id)", "/api/v1/transcriptions/\(id)/result",
                "/api/v1/transcriptions/\(id)/webhooks", "/api/v1/transcriptions/\(id)/events",
            ] {
                let response = try await client.get(uri, key: harness.freeKey)
                #expect(response.status == .notFound, "\(uri)")
                #expect(try errorCode(response) == "NOT_FOUND")
            }
            let headers: HTTPFields = [.authorization: "Bearer \(harness.freeKey)"]
            let cancel = try await client.execute(uri: "/api/v1/transcribe/\(id)", method: .delete, headers: headers)
            #expect(cancel.status == .notFound)
            let retry = try await client.execute(uri: "/api/v1/transcriptions/\(id)/retry", method: .post, headers: headers)
            #expect(retry.status == .notFound)
            // Another user's id answers exactly as an id that does not exist.
            let missing = try await client.get("/api/v1/transcriptions/\(UUID().uuidString.lowercased())", key: harness.freeKey)
            let theirs = try await client.get("/api/v1/transcriptions/\(id)", key: harness.freeKey)
            #expect(String(buffer: missing.body) == String(buffer: theirs.body))
            #expect(String(buffer: cancel.body) == String(buffer: missing.body) && String(buffer: retry.body) == String(buffer: missing.body))
            #expect(try await client.get("/api/v1/status/not-a-uuid", key: harness.freeKey).status == .notFound)
            #expect(try await client.get("/api/v1/status/\(id)", key: harness.proKey).status == .ok)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func resultBeforeCompletionIs409(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let id = try await submit(client, key: harness.freeKey)
            let response = try await client.get("/api/v1/transcriptions/\(id)/result", key: harness.freeKey)
            #expect(response.status == .conflict)
            #expect(try errorCode(response) == "NOT_READY")
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func cancellingAQueuedJobRemovesIt(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let id = try await submit(client, key: harness.freeKey)
            let headers: HTTPFields = [.authorization: "Bearer \(harness.freeKey)"]
            let response = try await client.execute(uri: "/api/v1/transcribe/\(id)", method: .delete, headers: headers)
            #expect(try dataField(response)["cancelled"] as? Bool == true)
            #expect(try dataField(response)["status"] as? String == "CANCELLED")
            #expect(try await harness.backend.queue.getJobStatus(id)?.state == .cancelled)
            let again = try await client.execute(uri: "/api/v1/transcribe/\(id)", method: .delete, headers: headers)
            #expect(try dataField(again)["cancelled"] as? Bool == false)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func progressStreamsAsServerSentEventsAndResumesAfterTheLastEventId(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let id = try await submit(client, key: harness.freeKey)
            let leasing = harness.backend.leasing
            let storage = harness.backend.storage
            let transcriptions = harness.backend.transcriptions
            let worker = Task {
                try await Task.sleep(for: .milliseconds(400))
                let job = try #require(try await leasing.claimNextJob(lockDuration: .seconds(30)))
                for progress in [30, 60] {
                    _ = try await leasing.updateJobProgress(job, progress: progress)
                    // Each state stays long enough for the stream's polls to see it, however busy the machine.
                    try await waitFor { try await transcriptions.find(id: UUID(uuidString: id)!, owner: nil)?.progress == progress }
                    try await Task.sleep(for: .milliseconds(800))
                }
                let transcript = TranscriptResult(text: "Hi.", language: "en", duration: 1, model: "tiny.en", segments: [])
                let key = StorageKeys.result(user: job.data.userId, transcription: job.data.transcriptionId)
                try await storage.write(key: key, data: try JSONEncoder().encode(transcript))
                _ = try await leasing.completeJob(job, result: TranscriptionJobResult(
                    s3ResultUrl: key, durationSeconds: 1, completedAt: "2026-11-29T00:00:00Z", language: "en"))
            }
            let response = try await client.get("/api/v1/transcriptions/\(id)/events", key: harness.freeKey)
            try await worker.value
            #expect(response.headers[.contentType] == "text/event-stream")
            let events = serverSentEvents(String(buffer: response.body))
            #expect(events.first?.name == "queued")
            #expect(events.last?.name == "completed")
            #expect(events.last?.data.contains("/api/v1/transcriptions/\(id)/result") == true)
            let progress = events.filter { $0.name == "progress" }.compactMap { event in
                (try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])?["progress"] as? Int
            }
            #expect(progress.contains(30) && progress.contains(60), "\(events)")
            #expect(progress == progress.sorted(), "progress never goes back")
            let ids = events.compactMap { Int($0.id) }
            #expect(ids == ids.sorted() && Set(ids).count == ids.count)
            // Reconnecting after the 30 % event: only newer events come.
            let after = try #require(events.first { $0.data.contains("\"progress\":30") }?.id)
            let resumed = try await client.execute(
                uri: "/api/v1/transcriptions/\(id)/events", method: .get,
                headers: [.authorization: "Bearer \(harness.freeKey)", HTTPField.Name("Last-Event-ID")!: after])
            let again = serverSentEvents(String(buffer: resumed.body))
            #expect(again.map(\.name) == ["completed"])
            let other = try await client.get("/api/v1/transcriptions/\(id)/events", key: harness.proKey)
            #expect(other.status == .notFound)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func aFailedTranscriptionCanBeRetriedOnce(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let id = try await submit(client, key: harness.freeKey)
            let retryURI = "/api/v1/transcriptions/\(id)/retry"
            let headers: HTTPFields = [.authorization: "Bearer \(harness.freeKey)"]
            let early = try await client.execute(uri: retryURI, method: .post, headers: headers)
            #expect(early.status == .conflict)
            #expect(try errorCode(early) == "NOT_FAILED")
            let leasing = harness.backend.leasing
            let job = try #require(try await leasing.claimNextJob(lockDuration: .seconds(30)))
            try await leasing.failJob(job, reason: "INVALID_AUDIO: broken", retryable: false)
            try await waitFor { try dataField(try await client.get("/api/v1/status/\(id)", key: harness.freeKey))["status"] as? String == "FAILED" }
            let other = try await client.execute(uri: retryURI, method: .post, headers: [.authorization: "Bearer \(harness.proKey)"])
            #expect(other.status == .notFound, "another user's transcription")
            let retried = try await client.execute(uri: retryURI, method: .post, headers: headers)
            #expect(retried.status == .ok)
            #expect(try dataField(retried)["status"] as? String == "QUEUED")
            let status = try dataField(try await client.get("/api/v1/status/\(id)", key: harness.freeKey))
            #expect(status["status"] as? String == "QUEUED")
            #expect(status["errorMessage"] == nil || status["errorMessage"] is NSNull)
            let again = try #require(try await leasing.claimNextJob(lockDuration: .seconds(30)))
            #expect(again.id == job.id)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func listingIsNewestFirstWithACursor(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            var ids: [String] = []
            for _ in 0..<3 { ids.append(try await submit(client, key: harness.freeKey)) }
            _ = try await submit(client, key: harness.proKey)
            let first = try dataField(try await client.get("/api/v1/transcriptions?limit=2", key: harness.freeKey))
            let firstItems = try #require(first["items"] as? [[String: Any]])
            #expect(firstItems.compactMap { $0["id"] as? String } == [ids[2], ids[1]])
            let cursor = try #require(first["nextCursor"] as? String)
            let second = try dataField(try await client.get("/api/v1/transcriptions?limit=2&cursor=\(cursor)", key: harness.freeKey))
            #expect((second["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [ids[0]])
            #expect(second["nextCursor"] == nil || second["nextCursor"] is NSNull)
            #expect(try await client.get("/api/v1/transcriptions?limit=0", key: harness.freeKey).status == .badRequest)
            #expect(try await client.get("/api/v1/transcriptions?cursor=zzz", key: harness.freeKey).status == .badRequest)
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func statusSyncAppliesAWorkersEventsAndTheResultRenders(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let id = try await submit(client, key: harness.freeKey)
            let leasing = harness.backend.leasing
            let job = try #require(try await leasing.claimNextJob(lockDuration: .seconds(30)))
            try await leasing.updateJobProgress(job, progress: 42)
            try await waitFor { try dataField(try await client.get("/api/v1/status/\(id)", key: harness.freeKey))["progress"] as? Int == 42 }
            let transcript = TranscriptResult(
                text: "Hello world.", language: "en", duration: 1.25, model: "tiny.en",
                segments: [.init(id: 0, start: 0, end: 1.25, text: "Hello world.")])
            let key = StorageKeys.result(user: job.data.userId, transcription: job.data.transcriptionId)
            try await harness.backend.storage.write(key: key, data: try JSONEncoder().encode(transcript))
            try await leasing.completeJob(job, result: TranscriptionJobResult(
                s3ResultUrl: key, durationSeconds: 1.25, completedAt: "2026-11-28T12:00:00Z", language: "en"))
            try await waitFor { try dataField(try await client.get("/api/v1/status/\(id)", key: harness.freeKey))["status"] as? String == "COMPLETED" }
            let row = try dataField(try await client.get("/api/v1/transcriptions/\(id)", key: harness.freeKey))
            #expect(row["durationSeconds"] as? Double == 1.25)
            #expect(row["progress"] as? Int == 100)
            let srt = try await client.get("/api/v1/transcriptions/\(id)/result?format=srt", key: harness.freeKey)
            #expect(String(buffer: srt.body) == "1\n00:00:00,000 --> 00:00:01,250\nHello world.\n")
            for name in ["text", "txt"] {  // txt: the extension its files carry
                let text = try await client.get("/api/v1/transcriptions/\(id)/result?format=\(name)", key: harness.freeKey)
                #expect(String(buffer: text.body) == "Hello world.\n")
            }
            let unknown = try await client.get("/api/v1/transcriptions/\(id)/result?format=doc", key: harness.freeKey)
            #expect(unknown.status == .badRequest)
            // The stored document at a signed, expiring URL that needs no API key.
            let redirect = try await client.get("/api/v1/transcriptions/\(id)/result?redirect=1", key: harness.freeKey)
            #expect(redirect.status == .temporaryRedirect)
            let location = try #require(redirect.headers[.location])
            #expect(location.hasPrefix("/api/v1/files?"))
            let download = try await client.execute(uri: location, method: .get)
            #expect(download.status == .ok)
            #expect(try JSONDecoder().decode(TranscriptResult.self, from: Data(buffer: download.body)) == transcript)
            let forged = try await client.execute(uri: location.replacingOccurrences(of: "signature=", with: "signature=0"), method: .get)
            #expect(forged.status == .forbidden)
            #expect(try errorCode(forged) == "INVALID_SIGNATURE")
            let otherKey = location.replacingOccurrences(of: "key=results", with: "key=audio")
            #expect(try await client.execute(uri: otherKey, method: .get).status == .forbidden)
            let expired = try #require(try await harness.backend.storage.downloadURL(key: key, expiresIn: -1))
            let late = try await client.execute(uri: expired.absoluteString, method: .get)
            #expect(late.status == .forbidden)
            #expect(try errorCode(late) == "URL_EXPIRED")
        }
    }
}

/// Polls `condition` for up to five seconds.
func waitFor(_ condition: () async throws -> Bool) async throws {
    for _ in 0..<100 {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("condition not met in time")
}

/// The events of a Server-Sent Events body.
func serverSentEvents(_ body: String) -> [(id: String, name: String, data: String)] {
    body.components(separatedBy: "\n\n").compactMap { block in
        var id = "", name = "message", data = ""
        for line in block.split(separator: "\n") {
            if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
            if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
        }
        return data.isEmpty ? nil : (id, name, data)
    }
}
