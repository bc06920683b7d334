import Foundation
import NIOConcurrencyHelpers
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

/// Credential changes on one machine (embedded mode): counted in this process, and marked in a file beside the
/// database, so that a change made by another process on the same data directory (the `whisperapi keys revoke`
/// command) is seen by the server on its next request. Reading the mark is one `stat` call.
public final class LocalCredentialNotices: CredentialNotices {
    private let changes = NIOLockedValueBox(0)
    let markPath: String

    /// Marks changes in `<directory>/credentials-changed`.
    public init(directory: String) {
        markPath = directory + "/credentials-changed"
    }

    public func announce() async {
        changes.withLockedValue { $0 += 1 }
        // The file's modification time is the mark; writing it anew moves it on.
        FileManager.default.createFile(atPath: markPath, contents: Data(UUID().uuidString.utf8))
    }

    public var generation: Int {
        var info = stat()
        let marked = stat(markPath, &info) == 0 ? Int(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int(info.st_mtim.tv_nsec) &+ Int(info.st_size) : 0
        return changes.withLockedValue { $0 } &* 1_000_003 &+ marked
    }

    public func follow() async {}
}
