import Foundation
import Logging
import NIOConcurrencyHelpers
import Telemetry
import WhisperAPICore

/// How to start an engine process.
public struct EngineConfiguration: Sendable {
    /// The Python interpreter (the repository's `.venv/bin/python`).
    public var python: String
    /// The directory that contains the `engine/` package.
    public var root: String
    /// CPU threads for inference in this process.
    public var threads: Int
    /// Extra environment for the process.
    public var environment: [String: String]

    public init(python: String, root: String, threads: Int, environment: [String: String] = [:]) {
        self.python = python
        self.root = root
        self.threads = threads
        self.environment = environment
    }
}

/// The worker's one long-lived Python engine process: it loads each model once and runs every job the worker has
/// at once through its window scheduler, which batches windows across jobs (`engine/scheduler.py`).
///
/// Jobs share the process: each request is tagged with an id of its own, and the engine's messages are routed back
/// to the job they belong to. Cancelling a job's task tells the engine to drop it and returns at once; the other
/// jobs go on. The process is started on first use; if it dies, every job it held fails with a retryable
/// `ENGINE_CRASHED` and the next job starts a new one.
public actor EngineProcess: Transcriber {
    let configuration: EngineConfiguration
    let logger: Logger
    private var running: Running?
    private var starting: Task<Running, any Error>?
    private var nextTag = 0
    /// Whether a process was started before (the next start is then a restart).
    private var launched = false

    /// A started process, its input, and the jobs waiting for its messages.
    private final class Running: Sendable {
        let process: Process
        let input: FileHandle
        let jobs = NIOLockedValueBox([String: AsyncThrowingStream<EngineMessage, any Error>.Continuation]())

        init(process: Process, input: FileHandle) {
            self.process = process
            self.input = input
        }

        /// Ends every job still waiting: the process is gone.
        func failAll(_ failure: TranscriptionFailure) {
            for job in jobs.withLockedValue({ jobs in defer { jobs = [:] }; return Array(jobs.values) }) {
                job.finish(throwing: failure)
            }
        }
    }

    public init(configuration: EngineConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The running process id, if any.
    public var pid: Int32? { running?.process.processIdentifier }

    /// Runs one job; `onProgress` receives 0–100 and each segment as the engine finishes it.
    public func transcribe(
        _ request: TranscriptionRequest, onProgress: @escaping @Sendable (Int, ProgressSegment?) async -> Void
    ) async throws -> TranscriptResult {
        let engine = try await started()
        nextTag += 1
        var tagged = request
        tagged.id = "\(request.id)#\(nextTag)"  // the same job may be run again while an old attempt drains
        let tag = tagged.id
        let (messages, continuation) = AsyncThrowingStream<EngineMessage, any Error>.makeStream()
        engine.jobs.withLockedValue { $0[tag] = continuation }
        defer { _ = engine.jobs.withLockedValue { $0.removeValue(forKey: tag) } }
        return try await withTaskCancellationHandler {
            try send(tagged, to: engine)
            for try await message in messages {
                switch message.type {
                case "progress":
                    if let value = message.progress { await onProgress(value, message.segment) }
                case "result":
                    guard let result = message.result else { throw TranscriptionFailure(code: "ENGINE_ERROR", message: "empty result") }
                    return result
                default:
                    throw TranscriptionFailure(code: message.code ?? "ENGINE_ERROR", message: message.message ?? "engine error")
                }
            }
            try Task.checkCancellation()
            throw Self.crashed
        } onCancel: {
            continuation.finish(throwing: CancellationError())
            Task { await self.cancel(tag, in: engine) }
        }
    }

    /// Stops the process (used on shutdown); jobs still running fail.
    public func stop() {
        guard let running else { return }
        if running.process.isRunning { kill(running.process.processIdentifier, SIGKILL) }
        ended(running)
    }

    // MARK: - Messages

    /// Tells the engine to drop a job (its place in a running batch is dropped when the batch ends).
    private func cancel(_ tag: String, in engine: Running) {
        Self.write(EngineCancel(id: tag), to: engine.input)
    }

    static let crashed = TranscriptionFailure(code: "ENGINE_CRASHED", message: "the engine process exited during the job")

    private func send(_ request: TranscriptionRequest, to engine: Running) throws {
        guard Self.write(request, to: engine.input) else {
            ended(engine)
            throw TranscriptionFailure(code: "ENGINE_CRASHED", message: "the engine process is not accepting requests")
        }
    }

    /// Writes one request line; false when the process no longer reads.
    @discardableResult
    private static func write(_ value: some Encodable, to input: FileHandle) -> Bool {
        guard var data = try? JSONEncoder().encode(value) else { return false }
        data.append(0x0A)
        do {
            try input.write(contentsOf: data)
            return true
        } catch {
            return false
        }
    }

    /// Hands a line from the engine to the job it belongs to.
    private static func route(_ line: String, in engine: Running, logger: Logger) {
        let message = try? JSONDecoder().decode(EngineMessage.self, from: Data(line.utf8))
        if let message, message.type == "batch", let model = message.model, let size = message.size {
            EngineMetrics.batch(model: model, windows: size)
            return
        }
        guard let message, let tag = message.id else {
            if !line.contains("\"ready\"") { logger.warning("engine printed a line that is not a protocol message") }
            return
        }
        guard let job = engine.jobs.withLockedValue({ $0[tag] }) else { return }  // cancelled: its last messages
        job.yield(message)
        if message.type != "progress" { job.finish() }
    }

    // MARK: - Process management

    private func ended(_ engine: Running) {
        if running === engine { running = nil }
        try? engine.input.close()
        engine.failAll(Self.crashed)
    }

    private func started() async throws -> Running {
        if let running, running.process.isRunning { return running }
        if let starting { return try await starting.value }
        let task = Task { try await launch() }
        starting = task
        defer { starting = nil }
        let engine = try await task.value
        if launched { EngineMetrics.restarted(engine: EngineKind.fasterWhisper.rawValue) }
        launched = true
        running = engine
        return engine
    }

    private func launch() async throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: configuration.python)
        process.arguments = ["-m", "engine"]
        process.currentDirectoryURL = URL(fileURLWithPath: configuration.root)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(configuration.environment) { _, new in new }
        environment["PYTHONPATH"] = configuration.root
        environment["PYTHONUNBUFFERED"] = "1"
        environment["WHISPER_CPU_THREADS"] = String(configuration.threads)  // engine/ sets OpenMP's count from it
        process.environment = environment
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        let lines = Self.lines(of: output.fileHandleForReading)
        // What Python prints (warnings, a traceback) goes through the worker's log, so JSON logs stay JSON.
        let logger = self.logger
        let printed = Self.lines(of: errors.fileHandleForReading)
        Task {
            for await line in printed where !line.isEmpty { logger.info("engine: \(line)") }
        }
        do {
            try process.run()
        } catch {
            throw TranscriptionFailure(code: "ENGINE_UNAVAILABLE", message: "could not start the engine (\(configuration.python))")
        }
        let engine = Running(process: process, input: input.fileHandleForWriting)
        // The engine says "ready" once its interpreter and libraries are loaded; from then on its lines go to the jobs.
        let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
        Task {
            var started = false
            for await line in lines {
                if started {
                    Self.route(line, in: engine, logger: logger)
                } else if line.contains("\"ready\"") {
                    started = true
                    readyContinuation.yield()
                }
            }
            readyContinuation.finish()
            await self.ended(engine)
            if started { logger.warning("engine process exited", metadata: ["pid": "\(process.processIdentifier)"]) }
        }
        for await _ in ready {
            logger.info("engine process started", metadata: ["pid": "\(process.processIdentifier)"])
            return engine
        }
        throw TranscriptionFailure(code: "ENGINE_UNAVAILABLE", message: "the engine exited during start-up")
    }

    /// The lines a process writes, as they come; the stream ends when the process closes its output.
    private static func lines(of handle: FileHandle) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let buffer = NIOLockedValueBox(Data())
        handle.readabilityHandler = { handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                continuation.finish()
                return
            }
            let complete = buffer.withLockedValue { pending -> [String] in
                pending.append(chunk)
                var found: [String] = []
                while let newline = pending.firstIndex(of: 0x0A) {
                    found.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                    pending.removeSubrange(pending.startIndex...newline)
                }
                return found
            }
            for line in complete { continuation.yield(line) }
        }
        return stream
    }
}

/// Tells the engine to drop a job.
struct EngineCancel: Encodable {
    let type = "cancel"
    let id: String
}

/// A line from the engine.
struct EngineMessage: Decodable, Sendable {
    var type: String
    var id: String?
    var progress: Int?
    var segment: ProgressSegment?
    var result: TranscriptResult?
    var code: String?
    var message: String?
    /// With a `batch` message: the model and how many windows were decoded together.
    var model: String?
    var size: Int?
}
