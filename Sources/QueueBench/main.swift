// Queue throughput benchmark for the Swift BullMQ library; bench/queue/run.sh runs it beside Python bullmq.
// Usage: queue-bench SCENARIO REDIS_URL JOBS   (SCENARIO: queue-add, queue-add-bulk, worker-generic, worker-concurrent;
// ping measures the client's round-trip floor)
// Prints the throughput in jobs/s on the last line.
import BullMQ
import Foundation
import Logging
import NIOCore
import NIOPosix
import RedisClient

// Run Swift concurrency on NIO's event loop threads, so awaiting a reply needs no thread hop.
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

let arguments = CommandLine.arguments
guard arguments.count == 4, let jobs = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: queue-bench SCENARIO REDIS_URL JOBS\n".utf8))
    exit(2)
}
let scenario = arguments[1]
let logger: Logger = {
    var logger = Logger(label: "queue-bench")
    logger.logLevel = .error
    return logger
}()
let client = RedisClient(configuration: try RedisConfiguration(url: arguments[2]), poolSize: 4, logger: logger)
let queue = Queue(name: "bench-swift-\(UUID().uuidString.prefix(8))", client: client)
let payload = #"{"i":0,"text":"no-op"}"#

func prefill() async throws {
    for start in stride(from: 0, to: jobs, by: 1000) {
        _ = try await queue.addBulk((start..<min(jobs, start + 1000)).map { _ in ("job", payload, JobOptions()) })
    }
}

func runWorker(concurrency: Int) async throws -> Double {
    try await prefill()
    var options = Worker.Options()
    options.concurrency = concurrency
    options.processorOnEventLoop = true // the no-op processor never blocks
    let started = ContinuousClock.now
    let worker = Worker(queue: queue, options: options, logger: logger) { _ in "null" }
    let running = Task { try await worker.run() }
    while try await client.send(["ZCARD", .string(queue.keys.completed)]).int ?? 0 < jobs {
        try await Task.sleep(for: .milliseconds(2))
    }
    let elapsed = ContinuousClock.now - started
    worker.close()
    _ = try await running.value
    return seconds(elapsed)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Runs sequential calls on one event loop, the one their pooled connection lives on (like Python's single
/// asyncio thread), so each round trip wakes no other thread. Top-level code is main-actor isolated and
/// would hop back to the main thread after every await, so the loop runs in a task of its own.
func onOneLoop(_ body: @escaping @Sendable () async throws -> Void) async throws {
    try await Task.detached(executorPreference: EventLoopExecutor(client.eventLoops[0])) { try await body() }.value
}

let elapsed: Double
switch scenario {
case "queue-add":
    let started = ContinuousClock.now
    try await onOneLoop {
        for _ in 0..<jobs { _ = try await queue.add("job", data: payload) }
    }
    elapsed = seconds(ContinuousClock.now - started)
case "queue-add-bulk":
    let started = ContinuousClock.now
    for start in stride(from: 0, to: jobs, by: 50) {
        _ = try await queue.addBulk((start..<min(jobs, start + 50)).map { _ in ("job", payload, JobOptions()) })
    }
    elapsed = seconds(ContinuousClock.now - started)
case "ping":
    // The client's round-trip floor: one PING at a time.
    let started = ContinuousClock.now
    try await onOneLoop {
        for _ in 0..<jobs { _ = try await client.send(["PING"]) }
    }
    elapsed = seconds(ContinuousClock.now - started)
case "worker-generic":
    elapsed = try await runWorker(concurrency: 1)
case "worker-concurrent":
    elapsed = try await runWorker(concurrency: 100)
default:
    FileHandle.standardError.write(Data("unknown scenario \(scenario)\n".utf8))
    exit(2)
}
try await queue.obliterate(force: true)
await client.close()
print(String(format: "%.0f", Double(jobs) / elapsed))
