import Foundation
import Subprocess

/// The programs the tests start (redis-server, openssl, the Python bullmq peer, boto3 snippets), on swift-subprocess:
/// its children are awaited without blocking a thread of the cooperative pool (Foundation's `Process` waits block one,
/// and with both threads of a 2-core machine blocked a test run was seen to hang for good).
public enum TestProcesses {
    /// How a program ended and what it wrote to standard output.
    public struct Finished: Sendable {
        /// The exit code, or 128 + the signal for a killed program.
        public let status: Int32
        public let output: String
    }

    /// A program that did not finish in time (it is killed).
    public struct TimedOut: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `executable` to its end and collects its standard output (up to 64 MiB; standard error goes to the test
    /// log, so a failing program explains itself). Past `timeout` the program is killed and this throws.
    public static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(120)) async throws -> Finished {
        try await withThrowingTaskGroup(of: Finished?.self) { group in
            group.addTask {
                let result = try await Subprocess.run(
                    .path(.init(executable)), arguments: .init(arguments),
                    output: .string(limit: 64 << 20), error: .currentStandardError)
                return Finished(status: code(result.terminationStatus), output: result.standardOutput)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }  // a cancelled run kills its program
            guard let first = try await group.next(), let finished = first else {
                throw TimedOut(description: "\(executable) still ran after \(timeout)")
            }
            return finished
        }
    }

    /// Runs `body` while a long-lived program (a server) runs beside it; the program is killed when `body` ends,
    /// however it ends.
    public static func withRunning<Result: Sendable>(
        _ executable: String, _ arguments: [String], _ body: () async throws -> Result
    ) async throws -> Result {
        let outcome = try await Subprocess.run(
            .path(.init(executable)), arguments: .init(arguments), input: .none, output: .discarded, error: .currentStandardError
        ) { execution -> Swift.Result<Result, any Error> in
            let result: Swift.Result<Result, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            try? execution.send(signal: .kill)
            return result
        }
        return try outcome.closureResult.get()
    }

    static func code(_ status: TerminationStatus) -> Int32 {
        switch status {
        case .exited(let code): Int32(code)
        case .signaled(let signal): 128 + Int32(signal)
        }
    }
}
