import Foundation
import WhisperAPICore

/// Rate limits in this process's memory (embedded mode: one API server).
public actor InProcessRateLimiter: RateLimiter {
    private struct Window {
        var count: Int
        let endsAt: ContinuousClock.Instant
    }

    private var windows: [String: Window] = [:]
    private var lastSweep = ContinuousClock.now

    public init() {}

    public func hit(_ key: String, limit: Int, window: Duration) -> RateLimitDecision {
        let now = ContinuousClock.now
        sweep(now: now)
        var entry = windows[key].flatMap { $0.endsAt > now ? $0 : nil } ?? Window(count: 0, endsAt: now + window)
        entry.count += 1
        windows[key] = entry
        return RateLimitDecision(
            allowed: entry.count <= limit, limit: limit, remaining: max(0, limit - entry.count), resetAfter: entry.endsAt - now)
    }

    /// Forgets ended windows now and then, so memory stays bounded by the active keys.
    private func sweep(now: ContinuousClock.Instant) {
        guard now - lastSweep > .seconds(60) else { return }
        lastSweep = now
        windows = windows.filter { $0.value.endsAt > now }
    }
}

/// Named locks within this process: waiters queue in order.
public actor InProcessLock: NamedLock {
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var held: Set<String> = []

    public init() {}

    public func withLock<T: Sendable>(_ name: String, _ body: @Sendable () async throws -> T) async throws -> T {
        await acquire(name)
        defer { release(name) }
        return try await body()
    }

    private func acquire(_ name: String) async {
        guard held.contains(name) else {
            held.insert(name)
            return
        }
        await withCheckedContinuation { waiting[name, default: []].append($0) }
    }

    private func release(_ name: String) {
        if var queue = waiting[name], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[name] = queue.isEmpty ? nil : queue
            next.resume()  // the lock passes straight to the next waiter
        } else {
            held.remove(name)
        }
    }
}
