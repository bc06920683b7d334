import Foundation
import RedisClient

/// One entry of the queue's events stream.
public struct QueueEvent: Sendable, Equatable {
    /// The stream id (`<ms>-<seq>`), usable as a resume position.
    public let id: String
    /// `added`, `waiting`, `active`, `progress`, `completed`, `failed`, `delayed`, `removed`, …
    public let name: String
    public let fields: [String: String]

    public var jobId: String? { fields["jobId"] }
}

/// Reads a queue's events stream with `XREAD BLOCK` on a connection of its own.
public final class QueueEvents: Sendable {
    public let queue: Queue

    public init(queue: Queue) {
        self.queue = queue
    }

    /// Events after `lastId` ("0" for all kept, "$" for new only), read until the task is cancelled.
    /// Reconnects after connection loss and resumes from the last event seen.
    public func events(after lastId: String = "$", block: Duration = .seconds(10)) -> AsyncThrowingStream<QueueEvent, any Error> {
        let client = queue.client
        let key = queue.keys.events
        return AsyncThrowingStream { continuation in
            let task = Task {
                var position = lastId
                var connection: RedisConnection?
                var failures = 0
                while !Task.isCancelled {
                    do {
                        if connection == nil || connection?.isActive == false { connection = try await client.makeDedicatedConnection() }
                        guard let current = connection else { continue }
                        let events = try await Self.read(key: key, after: position, count: 500, block: block, on: current)
                        failures = 0
                        for event in events {
                            continuation.yield(event)
                            position = event.id
                        }
                    } catch {
                        if Task.isCancelled { break }
                        failures += 1
                        await connection?.close()
                        connection = nil
                        try? await Task.sleep(for: RedisClient.reconnectDelay(afterFailures: failures))
                    }
                }
                await connection?.close()
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// One read of up to `count` events after `after`; with `block`, waits that long for the first one.
    /// Blocking reads use `connection` when given (a dedicated one), otherwise a new connection.
    public func read(after: String, count: Int = 500, block: Duration? = nil, on connection: RedisConnection? = nil) async throws -> [QueueEvent] {
        if let connection {
            return try await Self.read(key: queue.keys.events, after: after, count: count, block: block, on: connection)
        }
        if block != nil {
            let connection = try await queue.client.makeDedicatedConnection()
            defer { Task { await connection.close() } }
            return try await Self.read(key: queue.keys.events, after: after, count: count, block: block, on: connection)
        }
        return try await Self.read(key: queue.keys.events, after: after, count: count, block: nil, on: queue.client.connection())
    }

    static func read(key: String, after: String, count: Int, block: Duration?, on connection: RedisConnection) async throws -> [QueueEvent] {
        var command: [RESPArgument] = ["XREAD", "COUNT", .string(String(count))]
        if let block {
            let (seconds, attoseconds) = block.components
            command += ["BLOCK", .string(String(seconds * 1000 + attoseconds / 1_000_000_000_000_000))]
        }
        command += ["STREAMS", .string(key), .string(after)]
        let reply = try await connection.send(command)
        guard let streams = reply.array, !streams.isEmpty else { return [] }
        // RESP2: [[key, entries]]; RESP3: a map flattened to [key, entries].
        let entries: [RESPValue]
        if let first = streams.first?.array, first.count == 2 {
            entries = first[1].array ?? []
        } else {
            entries = streams.count >= 2 ? streams[1].array ?? [] : []
        }
        return entries.compactMap { entry in
            guard let pair = entry.array, pair.count == 2, let id = pair[0].string, let fields = pair[1].stringMap else { return nil }
            return QueueEvent(id: id, name: fields["event"] ?? "", fields: fields)
        }
    }
}
