import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A pool of pipelined connections to one Redis server.
///
/// Connections are opened on first use and reopened, with exponential backoff, after the server
/// goes away. Blocking commands (BZPOPMIN, XREAD BLOCK) belong on a dedicated connection from
/// `makeDedicatedConnection()`, never on the shared pool.
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let slots: [ConnectionSlot]
    private let next = NIOLockedValueBox(0)

    public init(
        configuration: RedisConfiguration, poolSize: Int = 4,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger = Logger(label: "redis")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        // Slots take the group's loops in turn, so a task running on one of them finds a connection there.
        let loops = Array(eventLoopGroup.makeIterator())
        slots = (0..<max(1, poolSize)).map { index in
            let loop = loops.isEmpty ? eventLoopGroup.next() : loops[index % loops.count]
            return ConnectionSlot(configuration: configuration, eventLoop: loop, logger: logger)
        }
    }

    /// The event loops the pool's connections live on.
    public var eventLoops: [any EventLoop] {
        var seen: [any EventLoop] = []
        for slot in slots where !seen.contains(where: { $0 === slot.eventLoop }) { seen.append(slot.eventLoop) }
        return seen
    }

    /// A pooled connection, opened or reopened as needed.
    ///
    /// On one of the group's event loops (an `EventLoopExecutor` task), a healthy connection on that
    /// same loop is preferred, so the command needs no thread hop.
    public func connection() async throws -> RedisConnection {
        if let current = MultiThreadedEventLoopGroup.currentEventLoop {
            for slot in slots where slot.eventLoop === current {
                if let open = slot.open.withLockedValue({ $0 }), open.isActive { return open }
            }
        }
        let index = next.withLockedValue { value -> Int in
            defer { value = (value + 1) % slots.count }
            return value
        }
        let slot = slots[index]
        // Fast path without an actor hop while the connection is healthy.
        if let open = slot.open.withLockedValue({ $0 }), open.isActive { return open }
        return try await slot.connection()
    }

    /// Sends one command on a pooled connection; error replies are thrown.
    @discardableResult
    public func send(_ arguments: [RESPArgument]) async throws -> RESPValue {
        try await connection().send(arguments)
    }

    /// Sends several commands in one write on one connection.
    public func pipeline(_ commands: [[RESPArgument]]) async throws -> [RESPValue] {
        try await connection().pipeline(commands)
    }

    /// Runs a script with EVALSHA, loading it when the server does not know it (NOSCRIPT).
    @discardableResult
    public func run(_ script: RedisScript, keys: [String], arguments: [RESPArgument]) async throws -> RESPValue {
        let connection = try await connection()
        return try await Self.run(script, keys: keys, arguments: arguments, on: connection)
    }

    /// Runs a script on the given connection with EVALSHA and the NOSCRIPT fallback.
    public static func run(_ script: RedisScript, keys: [String], arguments: [RESPArgument], on connection: RedisConnection) async throws -> RESPValue {
        let tail: [RESPArgument] = [.string(String(keys.count))] + keys.map { .string($0) } + arguments
        do {
            return try await connection.send(["EVALSHA", .string(script.sha1)] + tail)
        } catch let error as RedisError where error.code == "NOSCRIPT" {
            _ = try await connection.send(["SCRIPT", "LOAD", .string(script.source)])
            return try await connection.send(["EVALSHA", .string(script.sha1)] + tail)
        }
    }

    /// The commands to run a script inside a pipeline (EVALSHA; call `preload` first).
    public static func evalsha(_ script: RedisScript, keys: [String], arguments: [RESPArgument]) -> [RESPArgument] {
        ["EVALSHA", .string(script.sha1), .string(String(keys.count))] + keys.map { .string($0) } + arguments
    }

    /// Loads scripts into the server's script cache.
    public func preload(_ scripts: [RedisScript]) async throws {
        let connection = try await connection()
        _ = try await connection.pipeline(scripts.map { ["SCRIPT", "LOAD", .string($0.source)] })
    }

    /// A connection of its own, for blocking commands; the caller closes it.
    public func makeDedicatedConnection() async throws -> RedisConnection {
        try await RedisConnection.connect(configuration, eventLoopGroup: eventLoopGroup)
    }

    /// How long to wait before reconnecting after `failures` failed attempts: 50 ms doubling to 2 s.
    public static func reconnectDelay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        return .milliseconds(min(2000, 50 * (1 << min(failures - 1, 6))))
    }

    /// Closes every pooled connection.
    public func close() async {
        for slot in slots { await slot.close() }
    }
}

/// One pooled connection and its reconnect state.
actor ConnectionSlot {
    let configuration: RedisConfiguration
    /// The loop this slot's connection lives on.
    nonisolated let eventLoop: any EventLoop
    let logger: Logger
    private var current: RedisConnection? {
        didSet { open.withLockedValue { $0 = current } }
    }
    /// The current connection, readable without entering the actor.
    nonisolated let open = NIOLockedValueBox<RedisConnection?>(nil)
    private var failures = 0
    private var lastFailure: ContinuousClock.Instant?
    private var connecting: Task<RedisConnection, any Error>?

    init(configuration: RedisConfiguration, eventLoop: any EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
    }

    func connection() async throws -> RedisConnection {
        if let current, current.isActive { return current }
        if let connecting { return try await connecting.value }
        let wait = RedisClient.reconnectDelay(afterFailures: failures)
        let since = lastFailure.map { ContinuousClock.now - $0 } ?? wait
        let configuration = configuration
        let loop = eventLoop
        let task = Task<RedisConnection, any Error> {
            if since < wait { try await Task.sleep(for: wait - since) }
            return try await RedisConnection.connect(configuration, eventLoopGroup: loop)
        }
        connecting = task
        defer { connecting = nil }
        do {
            let connection = try await task.value
            if failures > 0 { logger.info("reconnected to Redis", metadata: ["server": "\(configuration.redacted)"]) }
            failures = 0
            current = connection
            return connection
        } catch {
            failures += 1
            lastFailure = .now
            if failures == 1 { logger.warning("cannot reach Redis", metadata: ["server": "\(configuration.redacted)", "error": "\(error)"]) }
            throw RedisConnectionError(description: "cannot reach Redis at \(configuration.redacted): \(error)")
        }
    }

    func close() async {
        await current?.close()
        current = nil
    }
}

