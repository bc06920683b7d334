import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import TerminalClient

/// `--server` and `--key`, over `WHISPERAPI_URL`/`WHISPERAPI_KEY` and the saved login.
struct ClientOptions: ParsableArguments {
    @Option(help: "The server's URL (env WHISPERAPI_URL; default: the saved login, else http://127.0.0.1:8080).") var server: String?
    @Option(help: "The API key (env WHISPERAPI_KEY; default: the saved login).") var key: String?

    func client() throws -> APIClient {
        APIClient(settings: try ClientSettings.resolve(server: server, key: key))
    }
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save the server and API key for the terminal client (~/.config/whisperapi/config.json, mode 0600).")

    @Option(help: "The server's URL, e.g. http://127.0.0.1:8080.") var server: String
    @Option(help: "Your API key (wapi_…).") var key: String

    func run() async throws {
        let settings = ClientSettings(server: try ClientSettings.normalized(server), key: key.trimmingCharacters(in: .whitespaces))
        let usage = try await APIClient(settings: settings).data(.GET, "/api/v1/usage")
        let file = try settings.save()
        say("signed in to \(settings.server) (plan \(usage["plan"] as? String ?? "?")); saved to \(file.path)")
    }
}

struct Transcribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Transcribe audio files (or folders of them) on a WhisperAPI server; writes NAME.EXT beside each input.")

    @OptionGroup var client: ClientOptions
    @Argument(help: "Audio files or folders.") var inputs: [String]
    @Option(help: "Model: tiny.en, base or whisper-1.") var model: String?
    @Option(help: "Spoken language code, e.g. en (base detects it when omitted).") var language: String?
    @Option(help: "transcribe, or translate (to English, with base).") var task: String?
    @Option(help: "Comma-separated formats to write: srt, vtt, txt, json, verbose_json, diarized_json.") var format: String = "txt"
    @Flag(help: "Label who spoke when (speaker diarization, where the server has it): SPEAKER_1: … in every format.") var diarize = false
    @Option(help: "The number of speakers, when known (labels speakers; implies --diarize).") var speakers: Int?
    @Option(help: "Write the outputs here instead of beside each input.") var outputDir: String?
    @Option(help: "Files in flight at once.") var concurrency: Int = 2
    @Flag(help: "Transcribe again even when the outputs exist.") var force = false

    func run() async throws {
        var fields: [String: String] = [:]
        if let model { fields["model"] = model }
        if let language { fields["language"] = language }
        if let task { fields["task"] = task }
        if diarize { fields["diarize"] = "true" }
        if let speakers { fields["speakers"] = String(speakers) }
        let request = TranscribeRequest(
            inputs: inputs, formats: format.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() },
            fields: fields, outputDirectory: outputDir, concurrency: concurrency, force: force)
        let run = try TranscribeRun(client: try client.client(), request: request, interactive: isatty(STDOUT_FILENO) == 1)
        let work = Task { await run.run() }
        // Ctrl-C stops the run, cancels the jobs it started, and exits 130.
        let cancelling = NIOLockedValueBox<Task<Void, Never>?>(nil)
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT)
        interrupt.setEventHandler {
            cancelling.withLockedValue { task in
                guard task == nil else { return }
                work.cancel()
                FileHandle.standardError.write(Data("\ninterrupted: cancelling the jobs this run started\n".utf8))
                task = Task { await run.cancelStarted() }
            }
        }
        interrupt.resume()
        let entries = await work.value
        interrupt.cancel()
        if let task = cancelling.withLockedValue({ $0 }) {
            await task.value
            throw ExitCode(130)
        }
        let failed = entries.contains { entry in
            switch entry.phase {
            case .completed, .skipped: false
            default: true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Your transcriptions on the server.", subcommands: [List.self, Show.self, Cancel.self, Retry.self, Result.self])

    static func print(_ data: [String: Any]) {
        let json = (try? JSONSerialization.data(withJSONObject: data, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        say(String(decoding: json, as: UTF8.self))
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Newest first.")
        @OptionGroup var client: ClientOptions
        @Option(help: "How many (1–100).") var limit: Int = 20
        @Option(help: "Only this status: QUEUED, PROCESSING, COMPLETED, FAILED or CANCELLED.") var status: String?

        func run() async throws {
            var path = "/api/v1/transcriptions?limit=\(limit)"
            if let status { path += "&status=\(status.uppercased())" }
            let page = try await client.client().data(.GET, path)
            let items = page["items"] as? [[String: Any]] ?? []
            if items.isEmpty { say("no transcriptions yet") }
            for item in items {
                let duration = (item["durationSeconds"] as? Double).map { String(format: "%.1fs", $0) } ?? "-"
                say([item["id"] as? String ?? "", (item["status"] as? String ?? "").padding(toLength: 10, withPad: " ", startingAt: 0),
                     String(item["progress"] as? Int ?? 0) + "%", duration, item["model"] as? String ?? "", item["createdAt"] as? String ?? "",
                     item["originalFilename"] as? String ?? ""].joined(separator: "  "))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One transcription, as JSON.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The transcription's id.") var id: String

        func run() async throws {
            Jobs.print(try await client.client().data(.GET, "/api/v1/transcriptions/\(id)"))
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued or running transcription.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The transcription's id.") var id: String

        func run() async throws {
            let answer = try await client.client().data(.DELETE, "/api/v1/transcribe/\(id)")
            say((answer["cancelled"] as? Bool ?? false) ? "cancelled \(id)" : "not cancelled: it is \(answer["status"] as? String ?? "finished")")
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a failed transcription again.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The transcription's id.") var id: String

        func run() async throws {
            _ = try await client.client().data(.POST, "/api/v1/transcriptions/\(id)/retry")
            say("queued \(id) again")
        }
    }

    struct Result: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a completed transcription's result.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The transcription's id.") var id: String
        @Option(help: "json, text, srt, vtt or verbose_json.") var format: String = "text"

        func run() async throws {
            let body = try await client.client().send(.GET, "/api/v1/transcriptions/\(id)/result?format=\(format)")
            FileHandle.standardOutput.write(body)
        }
    }
}
