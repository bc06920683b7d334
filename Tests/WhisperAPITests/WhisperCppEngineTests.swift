import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
import WhisperAPICore
import WhisperCpp

/// The whisper.cpp engine on real speech: libwhisper and the converted models as `make setup` leaves them.
@Suite(.serialized) struct WhisperCppEngineTests {
    static let english = "Please send the report to the office before noon on Monday. Thank you very much for your help."
    static let german = "Guten Morgen. Wie geht es dir heute? Ich möchte gerne einen Kaffee mit Milch trinken."

    let folder: URL
    let engine: WhisperCppEngine

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("whispercpp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        engine = WhisperCppEngine(configuration: Self.configuration(), logger: Logger(label: "test"))
    }

    static func configuration(models: String? = nil, threads: Int = 2) -> WhisperCppConfiguration {
        WhisperCppConfiguration(
            library: repositoryRoot + "/.whispercpp/lib/libwhisper.so", modelDirectory: models ?? repositoryRoot + "/models", threads: threads)
    }

    func speak(_ text: String, voice: String = "en-us", name: String) throws -> String {
        let path = folder.appendingPathComponent(name).path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["espeak-ng", "-v", voice, "-w", path, text]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        return path
    }

    func request(_ audio: String, model: String = "tiny.en", task: String = "transcribe", words: Bool = false) -> TranscriptionRequest {
        TranscriptionRequest(id: UUID().uuidString, audio: audio, model: model, language: nil, task: task, prompt: nil, wordTimestamps: words)
    }

    @Test func transcribesSpeechWithRisingProgressSegmentsAndOrderedWords() async throws {
        let audio = try speak(Self.english, name: "english.wav")
        let events = NIOLockedValueBox([(Int, ProgressSegment?)]())
        let result = try await engine.transcribe(request(audio, words: true)) { percent, segment in
            events.withLockedValue { $0.append((percent, segment)) }
        }
        #expect(wordOverlap(Self.english, result.text) >= 0.8, "\(result.text)")
        #expect(result.engine == "whisper.cpp")
        #expect(result.language == "en")
        #expect(result.model == "tiny.en")
        #expect(result.duration > 4 && result.duration < 10)
        let seen = events.withLockedValue { $0 }
        let percents = seen.map(\.0)
        #expect(percents == percents.sorted(), "progress only rises")
        let reported = seen.compactMap(\.1)
        #expect(reported.map(\.id) == Array(result.segments.indices), "every segment is reported once, in order")
        #expect(reported.map(\.text) == result.segments.map(\.text))
        var last = 0.0
        for segment in result.segments {
            #expect(segment.start <= segment.end)
            let words = try #require(segment.words)
            #expect(!words.isEmpty)
            for word in words {
                #expect(word.start >= segment.start && word.end <= segment.end, "\(word) inside \(segment.start)-\(segment.end)")
                #expect(word.start >= last, "words are in order")
                last = word.start
            }
        }
        let text = result.segments.flatMap { $0.words ?? [] }.map(\.word).joined(separator: " ")
        #expect(wordOverlap(Self.english, text) >= 0.8, "the words spell the transcript: \(text)")
    }

    @Test func theMultilingualModelDetectsTheLanguageAndTranslates() async throws {
        let audio = try speak(Self.german, voice: "de", name: "german.wav")
        let heard = try await engine.transcribe(request(audio, model: "base")) { _, _ in }
        #expect(heard.language == "de")
        #expect(wordOverlap(Self.german, heard.text) >= 0.5, "\(heard.text)")
        let translated = try await engine.transcribe(request(audio, model: "base", task: "translate")) { _, _ in }
        #expect(translated.task == "translate")
        let english = Set(translated.text.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init))
        #expect(!english.isDisjoint(with: ["good", "morning", "how", "coffee", "milk", "today", "drink"]), "\(translated.text)")
        #expect(wordOverlap(Self.german, translated.text) < 0.5, "the translation is not the German: \(translated.text)")
    }

    @Test func aTextFileNamedMp3FailsAsInvalidAudio() async throws {
        let path = folder.appendingPathComponent("notes.mp3").path
        try Data(String(repeating: "these are meeting notes, not audio\n", count: 20).utf8).write(to: URL(fileURLWithPath: path))
        await #expect(throws: TranscriptionFailure.self) { _ = try await engine.transcribe(request(path)) { _, _ in } }
        do {
            _ = try await engine.transcribe(request(path)) { _, _ in }
        } catch let failure as TranscriptionFailure {
            #expect(failure.code == "INVALID_AUDIO")
            #expect(!failure.message.contains(path), "the local path stays out of the message")
        }
    }

    @Test func cancellingTheTaskStopsTheRunWithinTwoSeconds() async throws {
        let long = try speak(Array(repeating: Self.english, count: 12).joined(separator: " "), name: "long.wav")
        let started = NIOLockedValueBox(false)
        let run = Task {
            try await engine.transcribe(request(long, model: "base")) { _, _ in started.withLockedValue { $0 = true } }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while !started.withLockedValue({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(started.withLockedValue { $0 }, "the run reported progress")
        let cancelledAt = ContinuousClock.now
        run.cancel()
        let outcome = await run.result
        #expect(ContinuousClock.now - cancelledAt < .seconds(2))
        #expect(throws: CancellationError.self) { try outcome.get() }
        // The model is still good for the next job.
        let after = try await engine.transcribe(request(try speak(Self.english, name: "after.wav"))) { _, _ in }
        #expect(wordOverlap(Self.english, after.text) >= 0.8, "\(after.text)")
    }

    @Test func runsBeyondTheThreadsWaitTheirTurnAndACancelledWaiterLeavesAtOnce() async throws {
        let oneThread = WhisperCppEngine(configuration: Self.configuration(threads: 1), logger: Logger(label: "test"))
        let long = try speak(Array(repeating: Self.english, count: 6).joined(separator: " "), name: "long.wav")
        let short = try speak(Self.english, name: "short.wav")
        let firstStarted = NIOLockedValueBox(false)
        let first = Task { try await oneThread.transcribe(request(long)) { _, _ in firstStarted.withLockedValue { $0 = true } } }
        while !firstStarted.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
        let secondStarted = NIOLockedValueBox(false)
        let second = Task { try await oneThread.transcribe(request(short)) { _, _ in secondStarted.withLockedValue { $0 = true } } }
        let third = Task { try await oneThread.transcribe(request(short)) { _, _ in } }
        try await Task.sleep(for: .milliseconds(500))
        #expect(!secondStarted.withLockedValue { $0 }, "the second run waits while the first has the one thread")
        let cancelledAt = ContinuousClock.now
        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        #expect(ContinuousClock.now - cancelledAt < .seconds(1), "a waiting job leaves without waiting for its turn")
        #expect(wordOverlap(Array(repeating: Self.english, count: 6).joined(separator: " "), try await first.value.text) >= 0.8)
        #expect(wordOverlap(Self.english, try await third.value.text) >= 0.8, "the turn passes on to the next waiting job")
    }

    @Test func aMissingModelOrLibraryIsATypedFailure() async throws {
        let audio = try speak("Hello world.", name: "hello.wav")
        let noModels = WhisperCppEngine(configuration: Self.configuration(models: folder.path), logger: Logger(label: "test"))
        await #expect(throws: TranscriptionFailure(code: "MODEL_NOT_FOUND", message: "model 'tiny.en' is not converted for whisper.cpp (run make setup)")) {
            _ = try await noModels.transcribe(request(audio)) { _, _ in }
        }
        await #expect(throws: TranscriptionFailure.self) {
            _ = try await engine.transcribe(request(audio, model: "tiny.en", task: "translate")) { _, _ in }
        }
    }
}

/// The share of the reference's words found in the hypothesis (lower-cased, letters and digits only).
func wordOverlap(_ reference: String, _ hypothesis: String) -> Double {
    func words(_ text: String) -> [String] { text.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init) }
    var counts = [String: Int]()
    for word in words(hypothesis) { counts[word, default: 0] += 1 }
    let expected = words(reference)
    var found = 0
    for word in expected where counts[word, default: 0] > 0 {
        counts[word]! -= 1
        found += 1
    }
    return expected.isEmpty ? 0 : Double(found) / Double(expected.count)
}
