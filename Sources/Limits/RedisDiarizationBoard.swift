import Foundation
import RedisClient
import WhisperAPICore

/// Which workers can diarize, shared in Redis: each such worker keeps its id in a sorted set
/// (`<prefix>:capability:diarization`) scored by when its claim runs out, and renews it while it runs; API servers count
/// the claims still current. A worker that dies stops counting when its claim runs out.
public struct RedisDiarizationBoard: DiarizationCapability {
    let client: RedisClient
    let key: String

    public init(client: RedisClient, prefix: String) {
        self.client = client
        key = "\(prefix):capability:diarization"
    }

    /// Whether a worker's claim is current. A Redis that does not answer counts as none (the submit is refused
    /// rather than left waiting for a worker that may not exist).
    public func available() async -> Bool {
        let now = Date().timeIntervalSince1970
        let reply = try? await client.send(["ZCOUNT", .string(key), .string("(\(now)"), "+inf"])
        return (reply?.int ?? 0) > 0
    }

    /// Claims the capability for `worker` for `lifetime`, and drops claims that ran out.
    public func advertise(worker: String, for lifetime: Duration) async throws {
        let now = Date().timeIntervalSince1970
        _ = try await client.pipeline([
            ["ZADD", .string(key), .string(String(now + lifetime.inSeconds)), .string(worker)],
            ["ZREMRANGEBYSCORE", .string(key), "-inf", .string(String(now))],
        ])
    }

    /// Withdraws `worker`'s claim (it is stopping).
    public func withdraw(worker: String) async {
        _ = try? await client.send(["ZREM", .string(key), .string(worker)])
    }
}
