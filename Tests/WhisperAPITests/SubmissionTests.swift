import Foundation
import Server
import Services
import Testing
import WhisperAPICore

/// The submit use case on its own, without HTTP: what it records and queues, and what it refuses without a trace.
@Suite struct SubmissionTests {
    func identity(_ harness: APIHarness, email: String) async throws -> Identity {
        let user = try #require(try await harness.backend.users.find(email: email))
        let key = try #require(try await harness.backend.users.keys(userId: user.id).first)
        return Identity(user: user, keyId: key.id, keyPrefix: key.prefix, defaultWebhookURL: nil, session: nil)
    }

    /// Streams `bytes` as the audio and returns `request`.
    func audio(_ bytes: [UInt8], _ request: SubmitRequest) -> @Sendable (any ObjectWriter, Int64) async throws -> (request: SubmitRequest, audio: ReceivedAudio, extra: Void) {
        { writer, _ in
            try await writer.write(bytes)
            return (request, ReceivedAudio(size: Int64(bytes.count), filename: "talk.wav"), ())
        }
    }

    @Test func aSubmissionIsRecordedQueuedWithThePlansPriorityAndItsAudioStored() async throws {
        try await APIHarness.withBackend { harness, _ in
            let pro = try await identity(harness, email: "pro@example.com")
            let bytes = wavBytes()
            let (row, _) = try await harness.backend.submission.submit(
                by: pro, maxFileBytes: 1 << 20, receive: audio(bytes, SubmitRequest(model: "base", language: "DE", task: "translate")))
            #expect(row.status == .queued && row.model == "base" && row.language == "de" && row.task == .translate)
            #expect(row.originalFilename == "talk.wav" && row.fileSize == Int64(bytes.count))
            #expect(try await harness.backend.transcriptions.find(id: row.id, owner: pro.user.id)?.audioKey == row.audioKey)
            let job = try #require(try await harness.backend.queue.getJobStatus(row.jobId ?? ""))
            #expect(job.priority == Plan.pro.queuePriority && job.data.s3AudioUrl == row.audioKey && job.data.task == "translate")
            #expect(try await harness.backend.storage.read(key: row.audioKey) == Data(bytes))
        }
    }

    @Test func vadFilterFalseReachesTheJobAndTheDefaultLeavesTheJobDataAsBefore() async throws {
        try await APIHarness.withBackend { harness, _ in
            let pro = try await identity(harness, email: "pro@example.com")
            var request = SubmitRequest()
            request.vadFilter = "false"
            let (off, _) = try await harness.backend.submission.submit(by: pro, maxFileBytes: 1 << 20, receive: audio(wavBytes(), request))
            let (on, _) = try await harness.backend.submission.submit(by: pro, maxFileBytes: 1 << 20, receive: audio(wavBytes(), SubmitRequest()))
            #expect(try await harness.backend.queue.getJobStatus(off.jobId ?? "")?.data.vadFilter == false)
            #expect(try await harness.backend.queue.getJobStatus(on.jobId ?? "")?.data.vadFilter == nil)
        }
    }

    @Test func diarizationReachesTheJobWhereAWorkerCanAndIsRefusedWhereNone() async throws {
        let model = FileManager.default.temporaryDirectory.appendingPathComponent("campplus-\(UUID().uuidString).onnx")
        try Data("model".utf8).write(to: model)
        defer { try? FileManager.default.removeItem(at: model) }
        var asked = SubmitRequest(format: "text")
        asked.speakers = "2"
        asked.knownSpeakerNames = ["Ann"]
        let request = asked
        try await APIHarness.withBackend(environment: ["DIARIZATION_MODEL": model.path]) { harness, _ in
            let pro = try await identity(harness, email: "pro@example.com")
            let (row, _) = try await harness.backend.submission.submit(by: pro, maxFileBytes: 1 << 20, receive: audio(wavBytes(), request))
            let data = try #require(try await harness.backend.queue.getJobStatus(row.jobId ?? "")?.data)
            #expect(data.diarize == DiarizationOptions(speakers: 2, names: ["Ann"]))
            #expect(data.textOnly == nil, "speakers are laid over words, so even a text result is cut at sentences")
        }
        try await APIHarness.withBackend(environment: ["DIARIZATION_MODEL": "/nonexistent/campplus.onnx"]) { harness, _ in
            let pro = try await identity(harness, email: "pro@example.com")
            do {
                _ = try await harness.backend.submission.submit(by: pro, maxFileBytes: 1 << 20, receive: audio(wavBytes(), request))
                Issue.record("a diarized submit was accepted with no worker able to diarize")
            } catch let error as APIError {
                #expect(error.errorCode == .diarizationUnavailable && error.statusCode == 422)
            }
            let plain = try await harness.backend.submission.submit(by: pro, maxFileBytes: 1 << 20, receive: audio(wavBytes(), SubmitRequest()))
            #expect(try await harness.backend.queue.getJobStatus(plain.transcription.jobId ?? "")?.data.diarize == nil)
        }
    }

    @Test func aRefusedSubmissionLeavesNothingBehind() async throws {
        try await APIHarness.withBackend(environment: ["PLAN_FREE_MODELS": "tiny.en"]) { harness, _ in
            let free = try await identity(harness, email: "free@example.com")
            let submission = harness.backend.submission
            for (request, code) in [
                (SubmitRequest(model: "large-v9"), "INVALID_MODEL"), (SubmitRequest(model: "base"), "MODEL_NOT_IN_PLAN"),
                (SubmitRequest(task: "translate"), "INVALID_TASK"), (SubmitRequest(language: "not a code"), "INVALID_LANGUAGE"),
                (SubmitRequest(webhookURL: "http://10.0.0.1/hook"), "INVALID_WEBHOOK_URL"),
                ({ var request = SubmitRequest(); request.vadFilter = "sometimes"; return request }(), "INVALID_VAD_FILTER"),
            ] {
                let error = await #expect(throws: APIError.self) {
                    _ = try await submission.submit(by: free, maxFileBytes: 1 << 20, receive: audio(wavBytes(), request))
                }
                #expect(error?.code == code)
            }
            #expect(harness.storedFiles().isEmpty)
            #expect(try await harness.backend.transcriptions.list(owner: free.user.id, limit: 10, after: nil).isEmpty)
        }
    }

    @Test func thePlansConcurrencyIsCheckedBeforeAnyAudioIsRead() async throws {
        try await APIHarness.withBackend(environment: ["PLAN_FREE_CONCURRENT_JOBS": "1"]) { harness, _ in
            let free = try await identity(harness, email: "free@example.com")
            let submission = harness.backend.submission
            _ = try await submission.submit(by: free, maxFileBytes: 1 << 20, receive: audio(wavBytes(), SubmitRequest()))
            let error = await #expect(throws: APIError.self) {
                _ = try await submission.submit(by: free, maxFileBytes: 1 << 20) { _, _ -> (request: SubmitRequest, audio: ReceivedAudio, extra: Void) in
                    Issue.record("the audio was read although the plan's limit was reached")
                    return (SubmitRequest(), ReceivedAudio(size: 0, filename: nil), ())
                }
            }
            #expect(error?.code == "TOO_MANY_CONCURRENT_JOBS")
        }
    }

    @Test func cancellationAndRetryMoveARowOnlyWhereItsStateAllows() async throws {
        try await APIHarness.withBackend { harness, _ in
            let pro = try await identity(harness, email: "pro@example.com")
            let (row, _) = try await harness.backend.submission.submit(by: pro, maxFileBytes: 1 << 20, receive: audio(wavBytes(), SubmitRequest()))
            // Only a FAILED row is retried.
            let notFailed = await #expect(throws: APIError.self) { _ = try await harness.backend.jobControl.retry(row) }
            #expect(notFailed?.code == "NOT_FAILED" && notFailed?.statusCode == 409)
            // A row marked FAILED whose job the queue does not hold as failed: the job is gone, the row stays FAILED.
            let failed = try #require(try await harness.backend.transcriptions.update(id: row.id) { $0.status = .failed })
            let gone = await #expect(throws: APIError.self) { _ = try await harness.backend.jobControl.retry(failed) }
            #expect(gone?.code == "JOB_GONE" && gone?.statusCode == 410)
            #expect(try await harness.backend.transcriptions.find(id: row.id, owner: nil)?.status == .failed)
            // A queued job is cancelled once; a second cancel changes nothing.
            let (second, _) = try await harness.backend.submission.submit(by: pro, maxFileBytes: 1 << 20, receive: audio(wavBytes(), SubmitRequest()))
            let first = try await harness.backend.jobControl.cancel(second)
            #expect(first.cancelled && first.status == .cancelled)
            let cancelled = try #require(try await harness.backend.transcriptions.find(id: second.id, owner: nil))
            let again = try await harness.backend.jobControl.cancel(cancelled)
            #expect(!again.cancelled && again.status == .cancelled)
        }
    }
}
