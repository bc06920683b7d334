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

            var badModel = Multipart()
            badModel.file(wavBytes())
            badModel.field("model", "gpt-4o-transcribe-xl")
            var headers = badModel.headers
            headers[.authorization] = "Bearer \(harness.freeKey)"
            let rejected = try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers, body: badModel.body)
            #expect(rejected.status == .badRequest)
            #expect(try openAIError(rejected)["param"] as? String == "model")
            #expect(try openAIError(rejected)["code"] as? String == "invalid_model")
            var streamed = Multipart()
            streamed.file(wavBytes())
            streamed.field("model", "whisper-1")
            streamed.field("stream", "true")
            var streamHeaders = streamed.headers
            streamHeaders[.authorization] = "Bearer \(harness.freeKey)"
            let unsupported = try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: streamHeaders, body: streamed.body)
            #expect(unsupported.status == .badRequest)
            #expect(try openAIError(unsupported)["param"] as? String == "stream")
            #expect(harness.storedFiles().isEmpty, "a rejected request leaves no audio behind")
        }
    }

    @Test func theUploadLimitIsOpenAIsOwn() async throws {
        try await APIHarness.run { client, harness in
            var form = Multipart()
            form.file(wavBytes() + [UInt8](repeating: 0, count: 26 * 1024 * 1024))
            form.field("model", "whisper-1")
            var headers = form.headers
            headers[.authorization] = "Bearer \(harness.freeKey)"
            let response = try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: headers, body: form.body)
            #expect(response.status == .contentTooLarge)
            #expect(try openAIError(response)["code"] as? String == "file_too_large")
            #expect(try openAIError(response)["param"] as? String == "file")
        }
    }
}
