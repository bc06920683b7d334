import BullMQ
import Foundation
import Logging
import RedisClient
import TestProcesses
import Testing

/// The Redis server the test scripts started (`TEST_REDIS_URL`).
let testRedisURL = ProcessInfo.processInfo.environment["TEST_REDIS_URL"]

/// Skips a suite when no test Redis is configured (make test always starts one).
let needsRedis = Testing.ConditionTrait.enabled(if: testRedisURL != nil, "needs TEST_REDIS_URL (make test starts redis-server)")

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh queue with a unique name on the test Redis, obliterated afterwards.
func withQueue(_ body: (Queue, RedisClient) async throws -> Void) async throws {
    let url = try #require(testRedisURL)
    var logger = Logger(label: "bullmq-test")
    logger.logLevel = .error
    let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 2, logger: logger)
    let queue = Queue(name: "test-\(UUID().uuidString.prefix(8))", client: client)
    do {
        try await body(queue, client)
    } catch {
        try? await queue.obliterate(force: true)
        await client.close()
        throw error
    }
    try? await queue.obliterate(force: true)
    await client.close()
}

/// Runs the Python bullmq peer (`e2e/interop/bullmq_peer.py`) and decodes its JSON output.
func pythonPeer(_ command: String, queue: Queue, _ arguments: [String] = []) async throws -> Any {
    try decodeJSON(try await pythonPeerOutput(command, queue: queue, arguments))
}

/// The peer's last output line (its JSON result).
func pythonPeerOutput(_ command: String, queue: Queue, _ arguments: [String] = []) async throws -> Data {
    let url = try #require(testRedisURL)
    let peer = try await TestProcesses.run(
        repositoryRoot.appendingPathComponent(".venv/bin/python").path,
        [repositoryRoot.appendingPathComponent("e2e/interop/bullmq_peer.py").path, command,
         "--redis", url, "--queue", queue.keys.name] + arguments)
    #expect(peer.status == 0, "python peer \(command) failed")
    let lines = peer.output.split(separator: "\n")
    return Data((lines.last ?? "null").utf8)
}

func decodeJSON(_ data: Data) throws -> Any {
    try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
}

/// Starts a Python peer in the background; await `.value` for its output.
func pythonPeerInBackground(_ command: String, queue: Queue, _ arguments: [String] = []) -> Task<Data, any Error> {
    Task { try await pythonPeerOutput(command, queue: queue, arguments) }
}

/// Polls `condition` for up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}

/// Runs a worker until `body` returns, then closes it.
func withWorker(
    _ queue: Queue, options: Worker.Options = Worker.Options(),
    processor: @escaping Worker.Processor, _ body: (Worker) async throws -> Void
) async throws {
    var logger = Logger(label: "bullmq-test-worker")
    logger.logLevel = .error
    let worker = Worker(queue: queue, options: options, logger: logger, processor: processor)
    let running = Task { try await worker.run() }
    do {
        try await body(worker)
    } catch {
        worker.close(release: true)
        _ = await running.result
        throw error
    }
    worker.close(release: true)
    _ = try await running.value
}

extension RedisClient {
    func hash(_ key: String) async throws -> [String: String] {
        try await send(["HGETALL", .string(key)]).stringMap ?? [:]
    }

    func zsetWithScores(_ key: String) async throws -> [(String, Double)] {
        let flat = try await send(["ZRANGE", .string(key), "0", "-1", "WITHSCORES"]).array ?? []
        return stride(from: 0, to: flat.count, by: 2).map { (flat[$0].string ?? "", flat[$0 + 1].double ?? -1) }
    }
}

/// Records an issue when `condition` does not hold within `seconds`.
func expectEventually(
    _ seconds: Double = 10, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async throws -> Bool
) async throws {
    if !(try await eventually(seconds, condition)) {
        Issue.record("condition not met within \(seconds) s", sourceLocation: sourceLocation)
    }
}
