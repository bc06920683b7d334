import Foundation
import Logging
import NIOConcurrencyHelpers
import RedisClient
import WhisperAPICore

/// Credential changes across API servers: an announcement is an entry added to a short Redis stream, which every
/// server follows with a blocking `XREAD` on a connection of its own, so it hears of a change within a round trip.
/// After Redis could not be read, a reconnecting follower counts a change (it may have missed some).
public final class RedisCredentialNotices: CredentialNotices {
    let client: RedisClient
    let key: String
    let logger: Logger
    private let changes = NIOLockedValueBox(0)

    /// Announces under `<prefix>:credentials`.
    public init(client: RedisClient, prefix: String, logger: Logger) {
        self.client = client
        self.key = "\(prefix):credentials"
        self.logger = logger
    }

    public var generation: Int { changes.withLockedValue { $0 } }

    public func announce() async {
        changes.withLockedValue { $0 += 1 }
        do {
            _ = try await client.send(["XADD", .string(key), "MAXLEN", "~", "100", "*", "changed", "1"])
        } catch {
            logger.warning("could not tell other servers of a credential change", metadata: ["error": "\(error)"])
        }
    }

    public func follow() async {
        var failures = 0
        var last = "$"
        while !Task.isCancelled {
            do {
                let connection = try await client.makeDedicatedConnection()
                defer { Task { await connection.close() } }
                if failures > 0 { changes.withLockedValue { $0 += 1 } }
                failures = 0
                while !Task.isCancelled {
                    let reply = try await connection.send(["XREAD", "COUNT", "100", "BLOCK", "2000", "STREAMS", .string(key), .string(last)])
                    if let id = Self.lastID(in: reply) {
                        last = id
                        changes.withLockedValue { $0 += 1 }
                    }
                }
            } catch {
                failures += 1
                try? await Task.sleep(for: RedisClient.reconnectDelay(afterFailures: failures))
            }
        }
    }

    /// The id of the last entry of an `XREAD` reply (RESP2 `[[key, entries]]` or RESP3's flattened map).
    static func lastID(in reply: RESPValue) -> String? {
        guard let streams = reply.array, !streams.isEmpty else { return nil }
        let entries = streams.first?.array.flatMap { $0.count == 2 ? $0[1].array : nil } ?? (streams.count >= 2 ? streams[1].array : nil)
        return entries?.last?.array?.first?.string
    }
}
