import Foundation

/// What `whisperapi transcribe` was asked to do.
public struct TranscribeRequest: Sendable {
    public var inputs: [String]
    /// Result formats to write: srt, vtt, txt (or text), json, verbose_json, diarized_json.
    public var formats: [String]
    public var fields: [String: String]
    public var outputDirectory: String?
    public var concurrency: Int
    public var force: Bool

    public init(inputs: [String], formats: [String], fields: [String: String], outputDirectory: String?, concurrency: Int, force: Bool) {
        self.inputs = inputs
        self.formats = formats
        self.fields = fields
        self.outputDirectory = outputDirectory
        self.concurrency = concurrency
        self.force = force
    }

    /// The API's name of a format, and the file extension written for it.
    static let formats: [String: (api: String, ext: String)] = [
        "srt": ("srt", "srt"), "vtt": ("vtt", "vtt"), "txt": ("text", "txt"), "text": ("text", "txt"),
        "json": ("json", "json"), "verbose_json": ("verbose_json", "verbose.json"), "diarized_json": ("diarized_json", "diarized.json"),
    ]

    static let audioExtensions: Set<String> = ["wav", "mp3", "m4a", "mp4", "aac", "ogg", "oga", "opus", "flac", "webm", "mka", "mkv", "mov"]
}

/// Where one file of a run stands.
public enum FilePhase: Sendable, Equatable {
    case waiting
    case uploading(sent: Int64, total: Int64)
    case queued
    case processing(Int)
    case saving
    case completed
    case skipped
    case failed(String)
    case cancelled

    var isFinal: Bool {
        switch self {
        case .completed, .skipped, .failed, .cancelled: true
        default: false
        }
    }

    var isUploading: Bool {
        if case .uploading = self { true } else { false }
    }

    /// A short word for the phase.
    var label: String {
        switch self {
        case .waiting: "waiting"
        case .uploading: "uploading"
        case .queued: "queued"
        case .processing: "transcribing"
        case .saving: "saving"
        case .completed: "completed"
        case .skipped: "skipped"
        case .failed: "failed"
        case .cancelled: "cancelled"
        }
    }

    /// 0–100 across the whole life of the file: the upload is the first 30, the transcription the rest.
    var percent: Int {
        switch self {
        case .waiting: 0
        case .uploading(let sent, let total): total > 0 ? Int(Double(sent) / Double(total) * 30) : 30
        case .queued: 30
        case .processing(let progress): 30 + progress * 70 / 100
        case .saving, .completed, .skipped: 100
        case .failed, .cancelled: 0
        }
    }
}

/// One input file of a run.
public struct FileEntry: Sendable {
    public let input: URL
    public let outputs: [(api: String, url: URL)]
    public var phase: FilePhase
    public var transcriptionId: String?
}

/// Everything a run knows, shared by the uploads, the event stream and the display.
actor RunBoard {
    var entries: [FileEntry]
    /// The newest state of each transcription seen on the event stream (it may come before the submit's answer).
    var latest: [String: (status: String, progress: Int, error: String?)] = [:]
    var lastEventId: String?
    /// Each change since the display last looked: which file, and how it stood then.
    var changes: [(index: Int, entry: FileEntry)] = []

    init(entries: [FileEntry]) {
        self.entries = entries
    }

    func set(_ index: Int, _ phase: FilePhase) {
        let old = entries[index].phase
        guard !old.isFinal, old != phase else { return }
        entries[index].phase = phase
        // Upload bytes redraw the bar but are not a change worth a line of their own.
        if !(old.isUploading && phase.isUploading) { changes.append((index, entries[index])) }
    }

    func started(_ index: Int, id: String) {
        entries[index].transcriptionId = id
        if let known = latest[id] { apply(index, known) } else { set(index, .queued) }
    }

    func event(id: String, status: String, progress: Int, error: String?, eventId: String?) {
        if let eventId { lastEventId = eventId }
        latest[id] = (status, progress, error)
        if let index = entries.firstIndex(where: { $0.transcriptionId == id }) { apply(index, (status, progress, error)) }
    }

    func apply(_ index: Int, _ state: (status: String, progress: Int, error: String?)) {
        switch state.status {
        case "QUEUED": set(index, .queued)
        case "PROCESSING": set(index, .processing(state.progress))
        case "FAILED": set(index, .failed(state.error ?? "the transcription failed"))
        case "CANCELLED": set(index, .cancelled)
        default: break  // COMPLETED: the uploader saves the outputs, then marks it completed
        }
    }

    func status(of id: String) -> String? { latest[id]?.status }

    func snapshot() -> [FileEntry] { entries }

    /// The changes since the last call, in order.
    func takeChanges() -> [(index: Int, entry: FileEntry)] {
        defer { changes = [] }
        return changes
    }
}

/// Runs `whisperapi transcribe`: uploads each file, follows it on the user's event stream, writes its outputs.
public final class TranscribeRun: Sendable {
    let client: APIClient
    let request: TranscribeRequest
    let board: RunBoard
    let display: ProgressDisplay

    public init(client: APIClient, request: TranscribeRequest, interactive: Bool) throws {
        self.client = client
        self.request = request
        for format in request.formats where TranscribeRequest.formats[format] == nil {
            throw ClientError.usage("unknown format '\(format)'; use srt, vtt, txt, json, verbose_json or diarized_json")
        }
        let entries = try Self.entries(request)
        if entries.isEmpty { throw ClientError.usage("no audio files found in \(request.inputs.joined(separator: ", "))") }
        board = RunBoard(entries: entries)
        display = ProgressDisplay(interactive: interactive)
    }

    /// The files named (folders give their audio files, sorted), each with its outputs; a file whose outputs all
    /// exist is skipped unless `force`.
    static func entries(_ request: TranscribeRequest) throws -> [FileEntry] {
        var files: [URL] = []
        for input in request.inputs {
            var isFolder: ObjCBool = false
            let url = URL(fileURLWithPath: input)
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
                throw ClientError.usage("no such file or folder: \(input)")
            }
            if isFolder.boolValue {
                let names = (try FileManager.default.contentsOfDirectory(atPath: url.path)).sorted()
                files += names.map { url.appendingPathComponent($0) }
                    .filter { TranscribeRequest.audioExtensions.contains($0.pathExtension.lowercased()) }
            } else {
                files.append(url)
            }
        }
        var seen = Set<String>()
        let formats = request.formats.compactMap { TranscribeRequest.formats[$0] }
        return files.filter { seen.insert($0.standardizedFileURL.path).inserted }.map { file in
            let folder = request.outputDirectory.map { URL(fileURLWithPath: $0) } ?? file.deletingLastPathComponent()
            let base = file.deletingPathExtension().lastPathComponent
            var extensions = Set<String>()
            let outputs = formats.filter { extensions.insert($0.ext).inserted }
                .map { (api: $0.api, url: folder.appendingPathComponent("\(base).\($0.ext)")) }
            let done = !request.force && outputs.allSatisfy { FileManager.default.fileExists(atPath: $0.url.path) }
            return FileEntry(input: file, outputs: outputs, phase: done ? .skipped : .waiting, transcriptionId: nil)
        }
    }

    /// Runs every file; returns the entries as they ended.
    public func run() async -> [FileEntry] {
        if let folder = request.outputDirectory {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let entries = await board.snapshot()
        await display.start(entries)
        let events = Task { await followEvents() }
        let drawing = Task { await draw() }
        await withTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                guard next < entries.count else { return }
                let index = next
                next += 1
                group.addTask { await self.process(index) }
            }
            for _ in 0..<max(1, request.concurrency) { add() }
            while await group.next() != nil { add() }
        }
        events.cancel()
        drawing.cancel()
        _ = await drawing.value
        let final = await board.snapshot()
        // An interrupted run's summary comes from `cancelStarted()`, once its jobs are cancelled.
        if !Task.isCancelled { await display.finish(final, changed: await board.takeChanges()) }
        return final
    }

    /// Cancels the jobs this run started that have not ended (Ctrl-C).
    public func cancelStarted() async {
        for (index, entry) in await board.snapshot().enumerated() where !entry.phase.isFinal {
            if let id = entry.transcriptionId { _ = try? await client.send(.DELETE, "/api/v1/transcribe/\(id)") }
            await board.set(index, .cancelled)
        }
        await display.finish(await board.snapshot(), changed: await board.takeChanges())
    }

    func process(_ index: Int) async {
        let entry = await board.snapshot()[index]
        guard entry.phase == .waiting else { return }
        do {
            let id = try await submit(entry, index: index)
            await board.started(index, id: id)
            try await waitForEnd(index, id: id)
        } catch is CancellationError {
            return
        } catch {
            await board.set(index, .failed("\(error)"))
        }
    }

    /// Uploads, waiting and trying again while the plan's limits say "not now".
    func submit(_ entry: FileEntry, index: Int) async throws -> String {
        let board = self.board
        for attempt in 0... {
            do {
                await board.set(index, .uploading(sent: 0, total: 0))
                return try await client.submit(file: entry.input, fields: request.fields) { sent, total in
                    Task { await board.set(index, .uploading(sent: sent, total: total)) }
                }
            } catch ClientError.api(429, let code, _) where code == "TOO_MANY_CONCURRENT_JOBS" || code == "RATE_LIMITED" {
                await board.set(index, .waiting)
                try await Task.sleep(for: .seconds(min(10, 1 + attempt)))
            }
        }
        throw CancellationError()
    }

    /// Waits for the transcription to end (the event stream, and a status check every few seconds as a safety
    /// net); when it completed, writes its outputs.
    func waitForEnd(_ index: Int, id: String) async throws {
        var lastCheck = ContinuousClock.now
        while true {
            try Task.checkCancellation()
            var status = await board.status(of: id)
            if ContinuousClock.now - lastCheck > .seconds(5) {
                lastCheck = .now
                if let data = try? await client.data(.GET, "/api/v1/status/\(id)"), let current = data["status"] as? String {
                    await board.event(
                        id: id, status: current, progress: data["progress"] as? Int ?? 0, error: data["errorMessage"] as? String, eventId: nil)
                    status = current
                }
            }
            switch status {
            case "COMPLETED":
                await board.set(index, .saving)
                try await save(index, id: id)
                await board.set(index, .completed)
                return
            case "FAILED", "CANCELLED":
                return
            default:
                try await Task.sleep(for: .milliseconds(150))
            }
        }
    }

    func save(_ index: Int, id: String) async throws {
        let entry = await board.snapshot()[index]
        for output in entry.outputs {
            let body = try await client.send(.GET, "/api/v1/transcriptions/\(id)/result?format=\(output.api)")
            try body.write(to: output.url, options: .atomic)
        }
    }

    /// Follows the user's event stream for the whole run, resuming after a break.
    func followEvents() async {
        while !Task.isCancelled {
            do {
                for try await event in try await client.events(lastEventId: await board.lastEventId) {
                    guard let object = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any],
                          let id = object["id"] as? String, let status = object["status"] as? String
                    else { continue }
                    await board.event(
                        id: id, status: status, progress: object["progress"] as? Int ?? 0, error: object["errorMessage"] as? String,
                        eventId: event.id)
                }
            } catch {
                // A break (a server restart): resume from the last event after a moment.
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    func draw() async {
        while !Task.isCancelled {
            await display.update(await board.snapshot(), changed: await board.takeChanges())
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
