import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to Redis. Commands are pipelined: each is written at once and
/// replies are matched to requests in order.
public final class RedisConnection: Sendable {
    let channel: any Channel

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Whether the socket is still open.
    public var isActive: Bool { channel.isActive }

    /// Opens a connection and runs the handshake (HELLO/AUTH, SELECT, CLIENT SETNAME).
    public static func connect(
        _ configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> RedisConnection {
        let sslContext = configuration.useTLS ? try Self.makeTLSContext(configuration) : nil
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        // SNI takes names only; for an IP address the certificate is checked against the address.
                        let isAddress = (try? SocketAddress(ipAddress: configuration.host, port: 0)) != nil
                        let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: isAddress ? nil : configuration.host)
                        try channel.pipeline.syncOperations.addHandler(tls)
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(RESPDecoder()),
                        RedisCommandHandler(),
                    ])
                }
            }
        let channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        let connection = RedisConnection(channel: channel)
        do {
            try await connection.handshake(configuration)
        } catch {
            await connection.close()
            throw error
        }
        return connection
    }

    static func makeTLSContext(_ configuration: RedisConfiguration) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile = configuration.tlsCAFile { tls.trustRoots = .file(caFile) }
        return try NIOSSLContext(configuration: tls)
    }

    func handshake(_ configuration: RedisConfiguration) async throws {
        if configuration.useRESP3 {
            var hello: [RESPArgument] = ["HELLO", "3"]
            if let password = configuration.password {
                hello += ["AUTH", .string(configuration.username ?? "default"), .string(password)]
            }
            _ = try await send(hello)
        } else if let password = configuration.password {
            if let username = configuration.username {
                _ = try await send(["AUTH", .string(username), .string(password)])
            } else {
                _ = try await send(["AUTH", .string(password)])
            }
        }
        if configuration.database != 0 {
            _ = try await send(["SELECT", .string(String(configuration.database))])
        }
        if let name = configuration.clientName {
            _ = try await send(["CLIENT", "SETNAME", .string(name)])
        } else {
            // One round trip either way, so a refused TLS handshake or a wrong server fails here, not later.
            _ = try await send(["PING"])
        }
    }

    /// Sends one command; an error reply is thrown as `RedisError`.
    @discardableResult
    public func send(_ arguments: [RESPArgument]) async throws -> RESPValue {
        let reply = try await pipeline([arguments])[0]
        if case .error(let message) = reply { throw RedisError(message) }
        return reply
    }

    /// Sends several commands in one write; replies come back in order, error replies as `.error` values.
    public func pipeline(_ commands: [[RESPArgument]]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        var buffer = channel.allocator.buffer(capacity: 64 * commands.count)
        for command in commands { RESPEncoder.encode(command, into: &buffer) }
        let promises = (0..<commands.count).map { _ in channel.eventLoop.makePromise(of: RESPValue.self) }
        // A write to a channel that has just closed never reaches the command handler (it has left the
        // pipeline), so a failed write must fail the replies itself, or they would be awaited forever.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            let failure = RedisConnectionError(description: "could not send the command: \(error)")
            promises.forEach { $0.fail(failure) }
        }
        channel.writeAndFlush(RedisCommandHandler.Request(bytes: buffer, promises: promises), promise: written)
        var replies: [RESPValue] = []
        replies.reserveCapacity(promises.count)
        for promise in promises { replies.append(try await promise.futureResult.get()) }
        return replies
    }

    /// Closes the socket; pending commands fail.
    public func close() async {
        try? await channel.close()
    }
}

/// The connection was lost or could not be used.
public struct RedisConnectionError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// Turns bytes into replies.
struct RESPDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue
    var parser = RESPParser()

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let value = try parser.parse(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(value))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// Matches replies to the promises of the commands that were written, in order.
final class RedisCommandHandler: ChannelDuplexHandler {
    struct Request {
        let bytes: ByteBuffer
        let promises: [EventLoopPromise<RESPValue>]
    }

    typealias InboundIn = RESPValue
    typealias OutboundIn = Request
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<EventLoopPromise<RESPValue>>()
    private var closed = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard !closed else {
            let error = RedisConnectionError(description: "connection closed")
            request.promises.forEach { $0.fail(error) }
            promise?.fail(error)
            return
        }
        waiting.append(contentsOf: request.promises)
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if case .push = value { return }
        guard let promise = waiting.popFirst() else { return }
        promise.succeed(value)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RedisConnectionError(description: "connection error: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisConnectionError(description: "connection closed by the server"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        closed = true
        while let promise = waiting.popFirst() { promise.fail(error) }
    }
}
