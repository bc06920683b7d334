import Foundation
import Hummingbird
import HummingbirdTesting
import Server
import Testing
import WhisperAPICore

/// The OpenAI-compatible routes' own behaviour; the official SDK drives them end to end in tests/e2e/test_openai.py.
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
            let unsupported = try await transcribe(client, key: harness.freeKey, fields: ["model": "whisper-1", "stream": "true"])
            #expect(unsupported.status == .badRequest)
            #expect(try openAIError(unsupported)["param"] as? String == "stream")
            #expect(harness.storedFiles().isEmpty, "a rejected request leaves no audio behind")
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
