import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A program the tests start (redis-server, openssl, the Python bullmq peer), awaited without
/// blocking a thread.
///
/// Foundation's `Process` is not used here: with both cooperative threads of a 2-core machine
/// blocked in its synchronous waits (`waitUntilExit`, `readDataToEndOfFile`, a polled `isRunning`),
/// a test run was seen to hang for good. This starts the child with `posix_spawn`, gives it
/// /dev/null as stdin, sends its stdout to a file, and polls `waitpid(WNOHANG)` between async sleeps.
public final class ChildProcess: @unchecked Sendable {
    /// The child's process id.
    public let pid: pid_t
    /// Where the child's standard output goes, when it is captured.
    public let outputPath: String?
    private let lock = NSLock()
    private var exitStatus: Int32?

    private init(pid: pid_t, outputPath: String?) {
        self.pid = pid
        self.outputPath = outputPath
    }

    /// A child that failed to start or to finish in time.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts `executable` with `arguments`; stdout goes to a temporary file when `captureOutput`,
    /// to /dev/null otherwise. stderr is inherited, so a failing child explains itself in the test log.
    public static func start(_ executable: String, _ arguments: [String], captureOutput: Bool = false) throws -> ChildProcess {
        let outputPath = captureOutput ? NSTemporaryDirectory() + "child-\(UUID().uuidString).out" : nil
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard result == 0 else { throw Failure(description: "cannot start \(executable): \(String(cString: strerror(result)))") }
        return ChildProcess(pid: pid, outputPath: outputPath)
    }

    /// The exit status (the signal number + 128 for a killed child), or nil while it runs.
    public func poll() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid {
            let signal = status & 0x7f
            exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        } else if reaped < 0 {
            exitStatus = -1
        }
        return exitStatus
    }

    /// Whether the child still runs.
    public var isRunning: Bool { poll() == nil }

    /// Waits for the child to exit and returns its exit status; past `timeout` it is killed and this throws.
    @discardableResult
    public func wait(timeout: Duration = .seconds(120)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = poll() { return status }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop()
        throw Failure(description: "pid \(pid) still ran after \(timeout)")
    }

    /// Kills the child (SIGKILL) and reaps it.
    public func stop() {
        guard poll() == nil else { return }
        kill(pid, SIGKILL)
        for _ in 0..<500 where poll() == nil { usleep(2_000) }
    }

    /// What the child wrote to stdout (captured children only).
    public func output() -> Data {
        guard let outputPath else { return Data() }
        return FileManager.default.contents(atPath: outputPath) ?? Data()
    }

    deinit {
        if let outputPath { try? FileManager.default.removeItem(atPath: outputPath) }
    }
}
