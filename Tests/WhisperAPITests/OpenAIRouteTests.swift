import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing
import WhisperAPICore

/// The OpenAI-compatible routes' own behaviour; the official SDK drives them end to end in e2e/test_openai.py.
@Suite(.serialized) struct OpenAIRouteTests {
    func openAIError(_ response: TestResponse) throws -> [String: Any] {
        try #require(try json(response)["error"] as? [String: Any])
    }

    /// Posts an audio file with OpenAI's form fields.
    func transcribe(_ client: any TestClientProtocol, key: String, audio: [UInt8] = wavBytes(), fields: [String: String]) async throws -> TestResponse {
        var form = Multipart()
        form.file(audio)
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) { form.field(name, value) }
        var headers = form.headers
        headers[.authorization] = "Bearer \(key)"
        return try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers, body: form.body)
    }

    @Test func modelsAreListedAndErrorsUseOpenAIsEnvelope() async throws {
        try await APIHarness.run(maxUploadBytes: 4096) { client, harness in
            let models = try json(try await client.get("/v1/models", key: harness.freeKey))
            #expect(models["object"] as? String == "list")
            let ids = (models["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            #expect(ids.contains("whisper-1") && ids.contains("tiny.en") && ids.contains("base"))

            let anonymous = try await client.execute(uri: "/v1/models", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(try openAIError(anonymous)["code"] as? String == "unauthorized")
            #expect(try openAIError(anonymous)["type"] as? String == "invalid_request_error")

            let rejected = try await transcribe(client, key: harness.freeKey, fields: ["model": "gpt-4o-transcribe-xl"])
            #expect(rejected.status == .badRequest)
            #expect(try openAIError(rejected)["param"] as? String == "model")
            #expect(try openAIError(rejected)["code"] as? String == "invalid_model")
            #expect(harness.storedFiles().isEmpty, "a rejected request leaves no audio behind")
        }
    }

    /// The `data:` lines of an event stream, decoded.
    func streamedEvents(_ response: TestResponse) -> [[String: Any]] {
        String(buffer: response.body).components(separatedBy: "\n").compactMap { line in
            guard line.hasPrefix("data: ") else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
        }
    }

    @Test(arguments: DatabaseDriver.available)
    func streamSendsEachSegmentAsItIsTranscribedThenTheWholeText(database: DatabaseDriver) async throws {
        try await APIHarness.run(database: database) { client, harness in
            let leasing = harness.backend.leasing
            let storage = harness.backend.storage
            let transcriptions = harness.backend.transcriptions
            let texts = ["Hello there.", "This is the second part.", "And the end."]
            let worker = Task {
                var claimed: LeasedJob?
                while claimed == nil {
                    claimed = try await leasing.claimNextJob(lockDuration: .seconds(30))
                    if claimed == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                let job = try #require(claimed)
                let id = try #require(UUID(uuidString: job.data.transcriptionId))
                for (index, text) in texts.enumerated() {
                    let segment = ProgressSegment(id: index, text: text)
                    _ = try await leasing.updateJobProgress(job, progress: 30 * (index + 1), segment: segment)
                    // A repeated report (an event read twice) must not repeat the text.
                    _ = try await leasing.updateJobProgress(job, progress: 30 * (index + 1), segment: segment)
                    try await waitFor { try await transcriptions.find(id: id, owner: nil)?.partialSegments == index + 1 }
                    try await Task.sleep(for: .milliseconds(400))
                }
                let transcript = TranscriptResult(
                    text: texts.joined(separator: " "), language: "en", duration: 3, model: "tiny.en",
                    segments: texts.enumerated().map { .init(id: $0.offset, start: Double($0.offset), end: Double($0.offset + 1), text: $0.element) })
                let key = StorageKeys.result(user: job.data.userId, transcription: job.data.transcriptionId)
                try await storage.write(key: key, data: try JSONEncoder().encode(transcript))
                _ = try await leasing.completeJob(job, result: TranscriptionJobResult(
                    s3ResultUrl: key, durationSeconds: 3, completedAt: "2026-11-29T00:00:00Z", language: "en"))
            }
            let response = try await transcribe(client, key: harness.freeKey, fields: ["model": "whisper-1", "stream": "true"])
            try await worker.value
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            let events = streamedEvents(response)
            let deltas = events.filter { $0["type"] as? String == "transcript.text.delta" }.compactMap { $0["delta"] as? String }
            #expect(deltas.count >= texts.count, "one delta per segment at least: \(events)")
            #expect(deltas.first == "Hello there.")
            #expect(deltas.joined() == texts.joined(separator: " "))
            #expect(events.last?["type"] as? String == "transcript.text.done")
            #expect(events.last?["text"] as? String == texts.joined(separator: " "))
            let owner = try #require(try await harness.backend.users.find(email: "free@example.com"))
            let row = try #require(try await transcriptions.list(owner: owner.id, limit: 1, after: nil).first)
            #expect(row.status == .completed)
            #expect(row.partialText == nil, "the running transcript is not kept once the job ends")
        }
    }

    @Test func aStreamEndsWithOpenAIsErrorObjectWhenTheJobFails() async throws {
        try await APIHarness.run { client, harness in
            let leasing = harness.backend.leasing
            let worker = Task {
                var claimed: LeasedJob?
                while claimed == nil {
                    claimed = try await leasing.claimNextJob(lockDuration: .seconds(30))
                    if claimed == nil { try await Task.sleep(for: .milliseconds(50)) }
                }
                try await leasing.failJob(try #require(claimed), reason: "INVALID_AUDIO: no speech could be decoded", retryable: false)
            }
            let response = try await transcribe(client, key: harness.freeKey, fields: ["stream": "true"])
            try await worker.value
            let last = try #require(streamedEvents(response).last)
            let error = try #require(last["error"] as? [String: Any])
            #expect(error["code"] as? String == "invalid_audio")
            #expect(error["type"] as? String == "invalid_request_error")
        }
    }

    @Test func theUploadLimitIsOpenAIsOwn() async throws {
        try await APIHarness.run { client, harness in
            let response = try await transcribe(
                client, key: harness.freeKey, audio: wavBytes() + [UInt8](repeating: 0, count: 26 * 1024 * 1024), fields: ["model": "whisper-1"])
            #expect(response.status == .contentTooLarge)
            #expect(try openAIError(response)["code"] as? String == "file_too_large")
            #expect(try openAIError(response)["param"] as? String == "file")
        }
    }
}
