import Foundation
import NIOCore
import RedisClient
import Testing

/// A redis-server of the test's own, with a password, started on a free port.
struct PasswordedRedis {
    let process: Process
    let port: Int
    let directory: String

    static func start(password: String) throws -> PasswordedRedis {
        let directory = NSTemporaryDirectory() + "redis-auth-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = Int.random(in: 20000...60000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", directory, "--requirepass", password, "--user", "app", "on", ">app-secret", "~*", "&*", "+@all"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return PasswordedRedis(process: process, port: port, directory: directory)
    }

    func stop() {
        // SIGKILL and a bounded wait: Foundation's waitUntilExit can spin on Linux.
        kill(process.processIdentifier, SIGKILL)
        for _ in 0..<100 where process.isRunning { usleep(20_000) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/redis-server"), "needs redis-server"), .serialized)
struct RedisServerTests {
    func connect(_ url: String) async throws -> RedisConnection {
        var lastError: (any Error)?
        for _ in 0..<50 {
            do { return try await RedisConnection.connect(try RedisConfiguration(url: url)) } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        throw try #require(lastError)
    }

    @Test func authenticatesSelectsTheDatabaseAndPipelines() async throws {
        let server = try PasswordedRedis.start(password: "s3cret")
        defer { server.stop() }
        let admin = try await connect("redis://:s3cret@127.0.0.1:\(server.port)/2")
        try await admin.send(["SET", "where", "db2"])
        let replies = try await admin.pipeline([["GET", "where"], ["INCR", "n"], ["INCR", "n"], ["NOSUCHCOMMAND"]])
        #expect(replies[0].string == "db2")
        #expect(replies[1].int == 1 && replies[2].int == 2)
        if case .error = replies[3] {} else { Issue.record("an error reply stays in its place in the pipeline") }
        let user = try await connect("redis://app:app-secret@127.0.0.1:\(server.port)/0")
        #expect(try await user.send(["GET", "where"]).isNull, "database 0 is not database 2")
        await #expect(throws: RedisError.self) {
            _ = try await RedisConnection.connect(try RedisConfiguration(url: "redis://:wrong@127.0.0.1:\(server.port)"))
        }
        let resp3 = try await RedisConnection.connect(RedisConfiguration(host: "127.0.0.1", port: server.port, username: "app", password: "app-secret", useRESP3: true))
        let map = try await resp3.send(["HELLO", "3"])
        if case .map = map {} else { Issue.record("HELLO 3 answers with a RESP3 map, got \(map)") }
        await admin.close()
        await user.close()
        await resp3.close()
    }

    @Test func scriptsReloadAfterTheCacheIsFlushedAndThePoolReconnects() async throws {
        let server = try PasswordedRedis.start(password: "pw")
        defer { server.stop() }
        _ = try await connect("redis://:pw@127.0.0.1:\(server.port)")
        let client = RedisClient(configuration: try RedisConfiguration(url: "redis://:pw@127.0.0.1:\(server.port)"), poolSize: 2)
        let script = RedisScript(name: "double", source: "return tonumber(ARGV[1]) * 2")
        #expect(try await client.run(script, keys: [], arguments: ["21"]).int == 42)
        try await client.send(["SCRIPT", "FLUSH"])
        #expect(try await client.run(script, keys: [], arguments: ["4"]).int == 8, "NOSCRIPT is answered by loading the script")
        // Kill every client connection: the pool reconnects on the next command.
        try await client.send(["CLIENT", "KILL", "TYPE", "normal"])
        var answered = false
        for _ in 0..<20 where !answered {
            answered = (try? await client.send(["PING"]).string) == "PONG"
            if !answered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(answered)
        await client.close()
    }
}
