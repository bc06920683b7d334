import Foundation
import RedisClient
import WhisperAPICore

/// Rate limits in Redis, counted by one atomic script, so every API server shares one limit per key.
public struct RedisRateLimiter: RateLimiter {
    let client: RedisClient
    let prefix: String

    /// Counts under `<prefix>:ratelimit:<key>`.
    public init(client: RedisClient, prefix: String) {
        self.client = client
        self.prefix = prefix
    }

    /// Counts the request; the first one of a window sets the window's expiry. Returns the count and the
    /// milliseconds left in the window.
    static let hitScript = RedisScript(name: "whisperapi-rate-hit", source: """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        local left = redis.call('PTTL', KEYS[1])
        if left < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          left = tonumber(ARGV[1])
        end
        return {count, left}
        """)

    public func hit(_ key: String, limit: Int, window: Duration) async throws -> RateLimitDecision {
        let reply = try await client.run(
            Self.hitScript, keys: ["\(prefix):ratelimit:\(key)"], arguments: [.string(String(max(1, window.wholeMilliseconds)))])
        guard let values = reply.array, values.count == 2, let count = values[0].int, let left = values[1].int else {
            throw RedisLimitError(description: "unexpected reply from the rate limit script")
        }
        return RateLimitDecision(
            allowed: count <= limit, limit: limit, remaining: max(0, limit - Int(count)), resetAfter: .milliseconds(left))
    }
}

/// Locks in Redis (`SET NX PX` with a token; released only by its holder), shared by every API server. A
/// holder that dies loses the lock when it expires.
public struct RedisLock: NamedLock {
    let client: RedisClient
    let prefix: String
    /// How long a lock lives if its holder never releases it.
    let expiry: Duration
    /// How long to wait for a lock before giving up.
    let patience: Duration

    public init(client: RedisClient, prefix: String, expiry: Duration = .seconds(10), patience: Duration = .seconds(10)) {
        self.client = client
        self.prefix = prefix
        self.expiry = expiry
        self.patience = patience
    }

    static let releaseScript = RedisScript(name: "whisperapi-lock-release", source: """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    public func withLock<T: Sendable>(_ name: String, _ body: @Sendable () async throws -> T) async throws -> T {
        let key = "\(prefix):lock:\(name)"
        let token = UUID().uuidString
        let deadline = ContinuousClock.now + patience
        var wait = Duration.milliseconds(5)
        while true {
            let reply = try await client.send(["SET", .string(key), .string(token), "NX", "PX", .string(String(expiry.wholeMilliseconds))])
            if !reply.isNull { break }
            guard ContinuousClock.now < deadline else { throw RedisLimitError(description: "timed out waiting for lock \(name)") }
            try await Task.sleep(for: wait)
            wait = min(wait * 2, .milliseconds(50))
        }
        do {
            let value = try await body()
            _ = try? await client.run(Self.releaseScript, keys: [key], arguments: [.string(token)])
            return value
        } catch {
            _ = try? await client.run(Self.releaseScript, keys: [key], arguments: [.string(token)])
            throw error
        }
    }
}

/// Redis answered something the limits did not expect, or a lock could not be had in time.
public struct RedisLimitError: Error, CustomStringConvertible {
    public let description: String
}
