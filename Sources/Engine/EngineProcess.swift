import Foundation
import Logging
import NIOConcurrencyHelpers
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

/// One long-lived Python engine process that loads each model once and serves requests in turn.
///
/// It is started on first use, restarted after a crash, and killed when a run is cancelled.
public actor EngineProcess: Transcriber {
    let configuration: EngineConfiguration
    let logger: Logger
    private var process: Process?
    private var stdin: FileHandle?
    private var lines: AsyncStream<String>.AsyncIterator?
    private let runningPID = NIOLockedValueBox<Int32?>(nil)

    public init(configuration: EngineConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The running process id, if any.
    public var pid: Int32? { process?.processIdentifier }

    /// Runs one request; `onProgress` receives 0–100 and the finished segment as each segment finishes.
    ///
    /// Cancelling the calling task kills the process at once; the next run starts a new one.
    public func transcribe(_ request: TranscriptionRequest, onProgress: @escaping @Sendable (Int, ProgressSegment?) async -> Void) async throws -> TranscriptResult {
        try await startIfNeeded()
        let pidBox = runningPID
        // The iterator shares its buffer with the stored one, so a local copy reads the same lines.
        guard var output = lines else { throw TranscriptionFailure(code: "ENGINE_UNAVAILABLE", message: "the engine is not running") }
        return try await withTaskCancellationHandler {
            try send(request)
            while true {
                guard let line = await output.next(isolation: #isolation) else {
                    markDead()
                    try Task.checkCancellation()
                    throw TranscriptionFailure(code: "ENGINE_CRASHED", message: "the engine process exited during the job")
                }
                guard let message = try? JSONDecoder().decode(EngineMessage.self, from: Data(line.utf8)) else {
                    logger.warning("engine printed a line that is not a protocol message")
                    continue
                }
                switch message.type {
                case "progress":
                    if let value = message.progress { await onProgress(value, message.segment) }
                case "result":
                    guard let result = message.result else { throw TranscriptionFailure(code: "ENGINE_ERROR", message: "empty result") }
                    return result
                case "error":
                    throw TranscriptionFailure(code: message.code ?? "ENGINE_ERROR", message: message.message ?? "engine error")
                default:
                    continue
                }
            }
        } onCancel: {
            if let pid = pidBox.withLockedValue({ $0 }) { kill(pid, SIGKILL) }
        }
    }

    /// Stops the process (used on shutdown).
    public func stop() {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        markDead()
    }

    // MARK: - Process management

    private func send(_ request: TranscriptionRequest) throws {
        var data = try JSONEncoder().encode(request)
        data.append(0x0A)
        do {
            try stdin?.write(contentsOf: data)
        } catch {
            markDead()
            throw TranscriptionFailure(code: "ENGINE_CRASHED", message: "the engine process is not accepting requests")
        }
    }

    private func markDead() {
        try? stdin?.close()
        stdin = nil
        lines = nil
        process = nil
        runningPID.withLockedValue { $0 = nil }
    }

    private func startIfNeeded() async throws {
        if let process, process.isRunning, lines != nil { return }
        markDead()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: configuration.python)
        process.arguments = ["-m", "engine"]
        process.currentDirectoryURL = URL(fileURLWithPath: configuration.root)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(configuration.environment) { _, new in new }
        environment["PYTHONPATH"] = configuration.root
        environment["PYTHONUNBUFFERED"] = "1"
        environment["WHISPER_CPU_THREADS"] = String(configuration.threads)
        environment["OMP_NUM_THREADS"] = String(configuration.threads)
        process.environment = environment
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let buffer = NIOLockedValueBox(Data())
        output.fileHandleForReading.readabilityHandler = { handle in
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
        do {
            try process.run()
        } catch {
            throw TranscriptionFailure(code: "ENGINE_UNAVAILABLE", message: "could not start the engine (\(configuration.python))")
        }
        self.process = process
        self.stdin = input.fileHandleForWriting
        var iterator = stream.makeAsyncIterator()
        runningPID.withLockedValue { $0 = process.processIdentifier }
        // The engine says "ready" once its interpreter and libraries are loaded.
        while let line = await iterator.next(isolation: #isolation) {
            if line.contains("\"ready\"") {
                self.lines = iterator
                logger.info("engine process started", metadata: ["pid": "\(process.processIdentifier)"])
                return
            }
        }
        markDead()
        throw TranscriptionFailure(code: "ENGINE_UNAVAILABLE", message: "the engine exited during start-up")
    }
}

/// A line from the engine.
struct EngineMessage: Decodable {
    var type: String
    var progress: Int?
    var segment: ProgressSegment?
    var result: TranscriptResult?
    var code: String?
    var message: String?
}
