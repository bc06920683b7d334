import Foundation
import Logging
import Storage
import Testing
import WhisperAPICore
import Worker

/// A transcriber that does what each test tells it, by job id: answer with a transcript, fail with a code, or run
/// until it is cancelled.
actor FakeTranscriber: Transcriber {
    enum Behaviour: Sendable {
        case transcript(String)
        case failure(String)
        case hang
    }

    let behaviours: [String: Behaviour]
    private(set) var calls: [String] = []
    private(set) var cancelled: [String] = []
    private(set) var stops = 0

    init(_ behaviours: [String: Behaviour]) {
        self.behaviours = behaviours
    }

    func transcribe(_ request: TranscriptionRequest, onProgress: @escaping @Sendable (Int, ProgressSegment?) async -> Void) async throws -> TranscriptResult {
        calls.append(request.id)
        #expect(FileManager.default.fileExists(atPath: request.audio), "the audio is a local file")
        switch behaviours[request.id] ?? .failure("BAD_REQUEST") {
        case .transcript(let text):
            await onProgress(50, ProgressSegment(id: 0, text: text))
            return TranscriptResult(
                text: text, language: "en", duration: 1.5, model: request.model,
                segments: [.init(id: 0, start: 0, end: 1.5, text: text)])
        case .failure(let code):
            throw TranscriptionFailure(code: code, message: "fake \(code)")
        case .hang:
            do {
                try await Task.sleep(for: .seconds(60))
            } catch {
                cancelled.append(request.id)
                throw error
            }
            throw TranscriptionFailure(code: "ENGINE_ERROR", message: "not cancelled")
        }
    }

    func stop() {
        stops += 1
    }
}

/// The worker pool over a fake transcriber, on the embedded queue and local storage.
@Suite struct WorkerPoolTests {
    func withPool(
        _ fake: FakeTranscriber, jobs: [String], diarized: Set<String> = [], handOver: JobHandOver = .never,
        _ body: @escaping @Sendable (any TranscriptionQueue & JobLeasing, LocalObjectStorage) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanup() }
        let storage = try LocalObjectStorage(root: directory.path + "/storage")
        var logger = Logger(label: "worker-pool-test")
        logger.logLevel = .warning
        try await withQueue(.sqlite, retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(50))) { queue in
            for id in jobs {
                try await storage.write(key: "audio/user-1/\(id)", data: Data("RIFF....WAVE".utf8))
                var data = jobData(id)
                if diarized.contains(id) { data.diarize = DiarizationOptions() }
                _ = try await queue.addTranscriptionJob(data, priority: 1, jobId: id)
            }
            let pool = QueueWorker(
                leasing: queue, processor: TranscriptionProcessor(storage: storage), concurrency: 1, lockDuration: .seconds(30),
                jobTimeout: .seconds(30), logger: logger, transcriber: fake, handOver: handOver)
            let running = Task { try await pool.run() }
            let outcome: Result<Void, any Error>
            do {
                try await body(queue, storage)
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            // The pool stops before the queue and its database close, whatever the test's outcome.
            running.cancel()
            _ = await running.result
            try outcome.get()
        }
    }

    func waitFor(_ queue: any TranscriptionQueue, _ id: String, _ states: Set<JobState>) async throws -> JobStatus {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let status = try await queue.getJobStatus(id), states.contains(status.state) { return status }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CancellationError()
    }

    @Test func aJobIsTranscribedAndItsResultStoredWithProgressOnTheWay() async throws {
        let fake = FakeTranscriber(["ok": .transcript("hello there")])
        try await withPool(fake, jobs: ["ok"]) { queue, storage in
            let status = try await waitFor(queue, "ok", [.completed, .failed])
            #expect(status.state == .completed)
            let key = StorageKeys.result(user: "user-1", transcription: "ok")
            #expect(status.returnValue?.s3ResultUrl == key && status.returnValue?.durationSeconds == 1.5)
            let stored = try JSONDecoder().decode(TranscriptResult.self, from: try #require(try await storage.read(key: key)))
            #expect(stored.text == "hello there")
            let events = try await queue.events(after: nil, limit: 100, waitUpTo: nil)
            #expect(events.contains { $0.jobId == "ok" && $0.kind == .progress && $0.segment?.text == "hello there" })
        }
        #expect(await fake.calls == ["ok"])
    }

    @Test func aWorkerThatCannotDiarizeLeavesDiarizedJobsToTheFleetWhileOneCanAndRunsThemWhenNoneCan() async throws {
        let fake = FakeTranscriber(["plain": .transcript("hello"), "diarized": .failure("DIARIZATION_UNAVAILABLE")])
        let others = JobHandOver(diarizes: false, fleet: FixedCapability(true), delay: .milliseconds(100))
        try await withPool(fake, jobs: ["diarized", "plain"], diarized: ["diarized"], handOver: others) { queue, _ in
            #expect(try await waitFor(queue, "plain", [.completed]).state == .completed)
            try await Task.sleep(for: .milliseconds(500))  // several hand-overs
            let status = try #require(try await queue.getJobStatus("diarized"))
            #expect([.waiting, .delayed, .active].contains(status.state) && status.attemptsMade == 0)
        }
        #expect(await fake.calls == ["plain"], "the diarized job never reached this worker's engine")
        let alone = JobHandOver(diarizes: false, fleet: FixedCapability(false))
        try await withPool(fake, jobs: ["diarized"], diarized: ["diarized"], handOver: alone) { queue, _ in
            let failed = try await waitFor(queue, "diarized", [.failed])
            #expect(failed.failedReason?.hasPrefix("DIARIZATION_UNAVAILABLE") == true && failed.attemptsMade == 1)
        }
    }

    @Test func aFailureNoRetryCanFixFailsAtOnceWithItsCodeAndOthersAreRetried() async throws {
        let fake = FakeTranscriber(["bad": .failure("INVALID_AUDIO"), "flaky": .failure("ENGINE_ERROR")])
        try await withPool(fake, jobs: ["bad", "flaky"]) { queue, _ in
            let bad = try await waitFor(queue, "bad", [.failed])
            #expect(bad.failedReason == "INVALID_AUDIO: fake INVALID_AUDIO" && bad.attemptsMade == 1)
            let flaky = try await waitFor(queue, "flaky", [.failed])
            #expect(flaky.attemptsMade == 2, "retried up to the policy's attempts")
        }
        #expect(await fake.calls.filter { $0 == "bad" }.count == 1)
    }

    @Test func cancellingARunningJobStopsItsTranscriberWithinTwoSeconds() async throws {
        let fake = FakeTranscriber(["long": .hang])
        try await withPool(fake, jobs: ["long"]) { queue, _ in
            _ = try await waitFor(queue, "long", [.active])
            while await !fake.calls.contains("long") { try await Task.sleep(for: .milliseconds(10)) }
            let start = ContinuousClock.now
            #expect(try await queue.cancelJob("long"))
            while await fake.cancelled.isEmpty, ContinuousClock.now - start < .seconds(2) { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await fake.cancelled == ["long"])
            #expect(try await queue.getJobStatus("long")?.state == .cancelled)
        }
    }

    @Test func theEngineFailureCodesAreTheOnesThePythonSideReads() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("engine/failures.json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        let codes = try #require(document["codes"] as? [String: [String: Bool]])
        #expect(Set(codes.keys) == Set(TranscriptionFailure.engineCodes.keys))
        for (code, facts) in codes {
            #expect(TranscriptionFailure(code: code, message: "").isRetryable == facts["retryable"], "\(code)")
            #expect(TranscriptionFailure(code: code, message: "").isClientError == facts["client"], "\(code)")
        }
        #expect(TranscriptionFailure(reason: "INVALID_AUDIO: cannot decode: bad header") == TranscriptionFailure(code: "INVALID_AUDIO", message: "cannot decode: bad header"))
        #expect(TranscriptionFailure(reason: "no code here") == nil)
    }
}
