import Foundation
import NIOCore
import NIOPosix
@testable import RedisClient
import TestProcesses
import Testing

/// A redis-server of the test's own, with a password, on a random port, for the length of `body`.
func withPasswordedRedis(password: String, _ body: (_ port: Int) async throws -> Void) async throws {
    let directory = NSTemporaryDirectory() + "redis-auth-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // Below Linux's ephemeral range (32768 and up), so no client socket of a parallel test holds the port.
    let port = Int.random(in: 20000...32000)
    try await TestProcesses.withRunning("/usr/bin/redis-server", [
        "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", directory, "--requirepass", password, "--user", "app", "on", ">app-secret", "~*", "&*", "+@all",
    ]) { try await body(port) }
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
        try await withPasswordedRedis(password: "s3cret") { port in
            let admin = try await connect("redis://:s3cret@127.0.0.1:\(port)/2")
            try await admin.send(["SET", "where", "db2"])
            let replies = try await admin.pipeline([["GET", "where"], ["INCR", "n"], ["INCR", "n"], ["NOSUCHCOMMAND"]])
            #expect(replies[0].string == "db2")
            #expect(replies[1].int == 1 && replies[2].int == 2)
            if case .error = replies[3] {} else { Issue.record("an error reply stays in its place in the pipeline") }
            let user = try await connect("redis://app:app-secret@127.0.0.1:\(port)/0")
            #expect(try await user.send(["GET", "where"]).isNull, "database 0 is not database 2")
            await #expect(throws: RedisError.self) {
                _ = try await RedisConnection.connect(try RedisConfiguration(url: "redis://:wrong@127.0.0.1:\(port)"))
            }
            let resp3 = try await RedisConnection.connect(RedisConfiguration(host: "127.0.0.1", port: port, username: "app", password: "app-secret", useRESP3: true))
            let map = try await resp3.send(["HELLO", "3"])
            if case .map = map {} else { Issue.record("HELLO 3 answers with a RESP3 map, got \(map)") }
            await admin.close()
            await user.close()
            await resp3.close()
        }
    }

    @Test func aCommandOnAClosedConnectionFailsInsteadOfWaitingForever() async throws {
        try await withPasswordedRedis(password: "pw") { port in
            let connection = try await connect("redis://:pw@127.0.0.1:\(port)")
            await connection.close()
            // The command handler has left the closed channel's pipeline: the failed write must fail the reply.
            await #expect(throws: RedisConnectionError.self) { try await connection.send(["PING"]) }
            await #expect(throws: RedisConnectionError.self) { _ = try await connection.pipeline([["PING"], ["PING"]]) }
        }
    }

    @Test func aTaskOnAnEventLoopGetsThePooledConnectionOnThatLoop() async throws {
        try await withPasswordedRedis(password: "pw") { port in
            _ = try await connect("redis://:pw@127.0.0.1:\(port)")
            let client = RedisClient(configuration: try RedisConfiguration(url: "redis://:pw@127.0.0.1:\(port)"), poolSize: 4)
            let loops = client.eventLoops
            #expect(loops.count == min(4, MultiThreadedEventLoopGroup.singleton.makeIterator().map { $0 }.count))
            for _ in 0..<4 { _ = try await client.send(["PING"]) } // opens every pooled connection
            for loop in loops {
                let same = try await Task(executorPreference: EventLoopExecutor(loop)) {
                    #expect(MultiThreadedEventLoopGroup.currentEventLoop === loop)
                    for _ in 0..<8 where try await client.connection().channel.eventLoop !== loop { return false }
                    return true
                }.value
                #expect(same, "every connection handed to a task on a loop lives on that loop")
            }
            await client.close()
        }
    }

    @Test func scriptsReloadAfterTheCacheIsFlushedAndThePoolReconnects() async throws {
        try await withPasswordedRedis(password: "pw") { port in
            _ = try await connect("redis://:pw@127.0.0.1:\(port)")
            let client = RedisClient(configuration: try RedisConfiguration(url: "redis://:pw@127.0.0.1:\(port)"), poolSize: 2)
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
}

@Suite(.enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/redis-server") && FileManager.default.fileExists(atPath: "/usr/bin/openssl"), "needs redis-server and openssl"))
struct RedisTLSTests {
    /// Makes a CA and a server certificate for 127.0.0.1, and runs redis-server with TLS only for the length of `body`.
    func withTLSRedis(in directory: String, port: Int, _ body: () async throws -> Void) async throws {
        let script = """
            set -e
            cd '\(directory)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=whisperapi-test-ca 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 -extfile san.ext 2>/dev/null
            """
        #expect(try await TestProcesses.run("/bin/sh", ["-c", script]).status == 0)
        try await TestProcesses.withRunning("/usr/bin/redis-server", [
            "--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory,
            "--tls-cert-file", "\(directory)/server.crt", "--tls-key-file", "\(directory)/server.key",
            "--tls-ca-cert-file", "\(directory)/ca.crt", "--tls-auth-clients", "no"], body)
    }

    @Test func rediss_URLsConnectOverTLSAndCheckTheCertificate() async throws {
        let directory = NSTemporaryDirectory() + "redis-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = Int.random(in: 20000...32000)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withTLSRedis(in: directory, port: port) {
            var connection: RedisConnection?
            for _ in 0..<50 where connection == nil {
                connection = try? await RedisConnection.connect(try RedisConfiguration(url: "rediss://127.0.0.1:\(port)?ca=\(directory)/ca.crt"))
                if connection == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let tls = try #require(connection)
            #expect(try await tls.send(["PING"]).string == "PONG")
            await tls.close()
            // Without the test CA the server's certificate is not trusted.
            await #expect(throws: (any Error).self) {
                _ = try await RedisConnection.connect(try RedisConfiguration(url: "rediss://127.0.0.1:\(port)"))
            }
            // A plain connection to the TLS port does not get a reply.
            let plain = try? await RedisConnection.connect(RedisConfiguration(host: "127.0.0.1", port: port))
            if let plain {
                let reply = try? await plain.send(["PING"])
                #expect(reply?.string != "PONG")
                await plain.close()
            }
        }
    }
}
