import Foundation
import NIOConcurrencyHelpers
import WhisperAPICore

/// Rate limits in this process's memory (embedded mode: one API server), counted under a lock (no actor hop on
/// every request).
public final class InProcessRateLimiter: RateLimiter {
    private struct Window {
        var count: Int
        let endsAt: ContinuousClock.Instant
    }

    private struct State {
        var windows: [String: Window] = [:]
        var lastSweep = ContinuousClock.now
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func hit(_ key: String, limit: Int, window: Duration) -> RateLimitDecision {
        let now = ContinuousClock.now
        return state.withLockedValue { state in
            // Forgets ended windows now and then, so memory stays bounded by the active keys.
            if now - state.lastSweep > .seconds(60) {
                state.lastSweep = now
                state.windows = state.windows.filter { $0.value.endsAt > now }
            }
            var entry = state.windows[key].flatMap { $0.endsAt > now ? $0 : nil } ?? Window(count: 0, endsAt: now + window)
            entry.count += 1
            state.windows[key] = entry
            return RateLimitDecision(
                allowed: entry.count <= limit, limit: limit, remaining: max(0, limit - entry.count), resetAfter: entry.endsAt - now)
        }
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
        // Each change adds a line, so the file's size moves on even when two changes share a clock tick of its
        // modification time; a long file starts again with one line (a size it did not have just before).
        let line = Data((UUID().uuidString + "\n").utf8)
        if let file = FileHandle(forWritingAtPath: markPath), (try? file.seekToEnd()) ?? 0 < 64 * 1024 {
            try? file.write(contentsOf: line)
            try? file.close()
        } else {
            FileManager.default.createFile(atPath: markPath, contents: line)
        }
    }

    public var generation: Int {
        var info = stat()
        let marked = stat(markPath, &info) == 0 ? Int(info.st_mtim.tv_sec) &* 1_000_000_000 &+ Int(info.st_mtim.tv_nsec) &+ Int(info.st_size) : 0
        return changes.withLockedValue { $0 } &* 1_000_003 &+ marked
    }

    public func follow() async {}
}
