import Foundation

/// The outcome of counting one request against a rate limit.
public struct RateLimitDecision: Sendable, Equatable {
    public var allowed: Bool
    public var limit: Int
    /// Requests left in the current window (0 when refused).
    public var remaining: Int
    /// Until the window starts afresh.
    public var resetAfter: Duration

    public init(allowed: Bool, limit: Int, remaining: Int, resetAfter: Duration) {
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.resetAfter = resetAfter
    }
}

/// Counts requests in fixed windows: the first request of a key starts its window.
///
/// Drivers: in process (one API server), and Redis (atomic scripts, one limit for every API server).
public protocol RateLimiter: Sendable {
    /// Counts one request of `key` against `limit` per `window`.
    func hit(_ key: String, limit: Int, window: Duration) async throws -> RateLimitDecision
}

/// A mutual-exclusion lock by name, so that a check and the write it guards cannot interleave with another
/// request's (the concurrent-job limit and the enqueue). Drivers: in process, and Redis (every API server).
public protocol NamedLock: Sendable {
    /// Runs `body` while holding the lock called `name`.
    func withLock<T: Sendable>(_ name: String, _ body: @Sendable () async throws -> T) async throws -> T
}

/// Tells every API server that stored credentials changed (a key revoked, a user's plan or a key's settings
/// changed), so that what a server remembers of them is forgotten at once. Drivers: in process (one API server),
/// and Redis (every API server).
public protocol CredentialNotices: Sendable {
    /// Says that credentials changed; this process counts the change at once.
    func announce() async
    /// How many changes this process has heard of: its own at once, other servers' as they arrive.
    var generation: Int { get }
    /// Hears other servers' announcements until the calling task is cancelled (returns at once where there are none).
    func follow() async
}
