import Foundation
import RedisClient

/// The producer and admin side of a BullMQ queue.
public final class Queue: Sendable {
    public let keys: QueueKeys
    let client: RedisClient

    /// A queue named `name` under `prefix` (default `bull`).
    public init(name: String, client: RedisClient, prefix: String = "bull") {
        keys = QueueKeys(prefix: prefix, name: name)
        self.client = client
    }

    /// Why an add or another call was refused.
    public struct QueueError: Error, Sendable, CustomStringConvertible, Equatable {
        public let description: String
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: - Adding

    /// Adds one job; returns its id (the existing id for a duplicate custom id).
    @discardableResult
    public func add(_ name: String, data: String, options: JobOptions = JobOptions()) async throws -> String {
        let reply = try await client.run(Scripts.addJob, keys: addKeys, arguments: try addArguments(name, data, options))
        guard let id = reply.string else { throw QueueError(description: "unexpected reply to add: \(reply)") }
        return id
    }

    /// Adds many jobs in one round trip (one pipelined MULTI/EXEC transaction).
    @discardableResult
    public func addBulk(_ jobs: [(name: String, data: String, options: JobOptions)]) async throws -> [String] {
        guard !jobs.isEmpty else { return [] }
        let commands = try jobs.map { try RedisClient.evalsha(Scripts.addJob, keys: addKeys, arguments: addArguments($0.name, $0.data, $0.options)) }
        let connection = try await client.connection()
        var replies = try await connection.pipeline([["MULTI"]] + commands + [["EXEC"]])
        if Self.hasNoScript(replies.last?.array ?? []) {
            // The server did not know the script: every EVALSHA in the transaction failed alike, so load and run again.
            _ = try await connection.send(["SCRIPT", "LOAD", .string(Scripts.addJob.source)])
            replies = try await connection.pipeline([["MULTI"]] + commands + [["EXEC"]])
        }
        for reply in replies.dropLast() { if case .error(let message) = reply { throw RedisError(message) } }
        guard let results = replies.last?.array, results.count == jobs.count else {
            throw QueueError(description: "addBulk transaction failed: \(replies.last.map { "\($0)" } ?? "")")
        }
        return try results.map { reply in
            if case .error(let message) = reply { throw RedisError(message) }
            guard let id = reply.string else { throw QueueError(description: "unexpected reply to add: \(reply)") }
            return id
        }
    }

    static let reservedIds: Set<String> = [
        "wait", "paused", "active", "prioritized", "delayed", "completed", "failed", "waiting-children", "marker", "meta",
        "events", "stalled", "stalled-check", "id", "pc", "limiter", "repeat", "de", "priority", "metrics",
    ]

    static func hasNoScript(_ replies: [RESPValue]) -> Bool {
        replies.contains { if case .error(let message) = $0 { message.hasPrefix("NOSCRIPT") } else { false } }
    }

    var addKeys: [String] { [keys.wait, keys.meta, keys.id, keys.prioritized, keys.delayed, keys.events, keys.marker, keys.pc, keys.active] }

    func addArguments(_ name: String, _ data: String, _ options: JobOptions) throws -> [RESPArgument] {
        if let custom = options.jobId {
            guard !custom.isEmpty, Int64(custom) == nil else {
                throw QueueError(description: "custom job id '\(custom)' must not be empty or look like an integer")
            }
            // The job key is `<prefix>:<queue>:<id>`: these ids would land on the queue's own keys.
            guard !Self.reservedIds.contains(custom), !custom.contains(":") else {
                throw QueueError(description: "custom job id '\(custom)' collides with the queue's own keys")
            }
        }
        guard (0...2_097_152).contains(options.priority) else {
            throw QueueError(description: "priority must be between 0 and 2097152")
        }
        guard options.delay >= 0 else { throw QueueError(description: "delay must not be negative") }
        return [
            .string(keys.base), .string(options.jobId ?? ""), .string(name), .string(data), .string(options.json),
            .string(String(options.timestamp ?? Self.now())), .string(String(options.delay)),
            .string(String(options.priority)), options.lifo ? "1" : "0",
        ]
    }

    // MARK: - Reading

    /// The job, or nil when it does not exist.
    public func getJob(_ id: String) async throws -> Job? {
        let reply = try await client.send(["HGETALL", .string(keys.job(id))])
        guard let hash = reply.stringMap, !hash.isEmpty else { return nil }
        return Job(id: id, hash: hash)
    }

    /// Where the job is (checked in BullMQ's order).
    public func getJobState(_ id: String) async throws -> JobState {
        let member: RESPArgument = .string(id)
        let replies = try await client.pipeline([
            ["ZSCORE", .string(keys.completed), member],
            ["ZSCORE", .string(keys.failed), member],
            ["ZSCORE", .string(keys.delayed), member],
            ["ZSCORE", .string(keys.prioritized), member],
            ["LPOS", .string(keys.active), member],
            ["LPOS", .string(keys.wait), member],
            ["LPOS", .string(keys.paused), member],
            ["ZSCORE", .string(keys.waitingChildren), member],
        ])
        let states: [JobState] = [.completed, .failed, .delayed, .prioritized, .active, .waiting, .waiting, .waitingChildren]
        for (reply, state) in zip(replies, states) where !reply.isNull {
            if case .error(let message) = reply { throw RedisError(message) }
            return state
        }
        return .unknown
    }

    /// Prioritized jobs of one priority (BullMQ scores them `priority * 2^32 + a counter`).
    public func countPrioritized(priority: Int) async throws -> Int {
        let low = Int64(priority) << 32
        let reply = try await client.send(["ZCOUNT", .string(keys.prioritized), .string(String(low)), .string(String(low + (1 << 32) - 1))])
        if case .error(let message) = reply { throw RedisError(message) }
        return Int(reply.int ?? 0)
    }

    /// Job counts per state (`waiting` counts the wait and paused lists).
    public func getJobCounts(_ states: [JobState] = [.active, .completed, .delayed, .failed, .prioritized, .waiting, .waitingChildren]) async throws -> [JobState: Int] {
        var commands: [[RESPArgument]] = []
        for state in states {
            switch state {
            case .waiting:
                commands.append(["LLEN", .string(keys.wait)])
                commands.append(["LLEN", .string(keys.paused)])
            case .active: commands.append(["LLEN", .string(keys.active)])
            default: commands.append(["ZCARD", .string(keys.base + state.rawValue)])
            }
        }
        let replies = try await client.pipeline(commands)
        var counts: [JobState: Int] = [:]
        var index = 0
        for state in states {
            var total = Int(replies[index].int ?? 0)
            index += 1
            if state == .waiting {
                total += Int(replies[index].int ?? 0)
                index += 1
            }
            counts[state] = total
        }
        return counts
    }

    /// Records progress (JSON text: a number or an object) for a job.
    public func updateProgress(_ id: String, progress: String) async throws {
        let reply = try await client.run(Scripts.updateProgress, keys: [keys.job(id), keys.events, keys.meta], arguments: [.string(id), .string(progress)])
        if reply.int == -1 { throw QueueError(description: "job \(id) does not exist") }
    }

    // MARK: - Admin

    /// Removes a job in any state; false when it is locked by a worker or missing.
    @discardableResult
    public func remove(_ id: String) async throws -> Bool {
        try await client.run(Scripts.removeJob, keys: [keys.job(id), keys.events, keys.meta], arguments: [.string(id), .string(keys.base)]).int == 1
    }

    /// Where a cancelled job was.
    public enum CancelOutcome: Sendable, Equatable {
        /// It was waiting, prioritized or delayed and will not run.
        case removedFromQueue
        /// It was running: its lock is gone, so its worker stops at the next lock renewal.
        case stoppedWhileActive
        /// It had already finished, or does not exist.
        case notCancellable
    }

    /// Cancels an unfinished job; it ends in `failed` with `reason` (which a `failed` event carries).
    public func cancel(_ id: String, reason: String) async throws -> CancelOutcome {
        let reply = try await client.run(
            Scripts.cancelJob,
            keys: [keys.job(id), keys.events, keys.meta, keys.active, keys.wait, keys.prioritized, keys.delayed, keys.failed, keys.paused],
            arguments: [.string(id), .string(reason), .string(String(Self.now()))])
        switch reply.int {
        case 1: return .removedFromQueue
        case 2: return .stoppedWhileActive
        default: return .notCancellable
        }
    }

    /// Moves a failed (or completed) job back to the queue; `resetAttempts` gives it fresh attempts.
    @discardableResult
    public func retryJob(_ id: String, from state: JobState = .failed, resetAttempts: Bool = true) async throws -> Bool {
        let set = state == .completed ? keys.completed : keys.failed
        let field = state == .completed ? "returnvalue" : "failedReason"
        let reply = try await client.run(
            Scripts.reprocessJob,
            keys: [keys.job(id), keys.events, set, keys.wait, keys.meta, keys.active, keys.marker, keys.prioritized, keys.pc],
            arguments: [.string(id), "LPUSH", .string(field), .string(state.rawValue), resetAttempts ? "1" : "0"])
        return reply.int == 1
    }

    /// Removes jobs of `state` older than `grace` ms (at most `limit`, 0 = all); returns their ids.
    @discardableResult
    public func clean(grace: Int, limit: Int = 0, state: JobState) async throws -> [String] {
        let key: String
        switch state {
        case .waiting: key = keys.wait
        case .active: key = keys.active
        default: key = keys.base + state.rawValue
        }
        let reply = try await client.run(
            Scripts.cleanJobsInSet, keys: [key, keys.events],
            arguments: [.string(keys.base), .string(String(Self.now() - Int64(grace))), .string(String(limit)), .string(state == .waiting ? "wait" : state.rawValue)])
        return reply.array?.compactMap(\.string) ?? []
    }

    /// Stops workers from taking jobs; adds still queue.
    public func pause() async throws {
        try await client.run(Scripts.pause, keys: pauseKeys, arguments: ["pause"])
    }

    /// Lets workers take jobs again.
    public func resume() async throws {
        try await client.run(Scripts.pause, keys: pauseKeys, arguments: ["resume"])
    }

    var pauseKeys: [String] { [keys.meta, keys.marker, keys.events, keys.wait, keys.prioritized, keys.delayed] }

    /// Whether the queue is paused.
    public func isPaused() async throws -> Bool {
        try await client.send(["HEXISTS", .string(keys.meta), "paused"]).int == 1
    }

    /// Deletes the whole queue (pausing it first). Refuses while jobs are active unless `force`.
    public func obliterate(force: Bool = false) async throws {
        try await pause()
        while true {
            let code = try await client.run(Scripts.obliterate, keys: [keys.meta, keys.base], arguments: ["1000", force ? "1" : "0"]).int
            switch code {
            case 0: return
            case 1: continue
            case -2: throw QueueError(description: "cannot obliterate a queue with active jobs")
            default: throw QueueError(description: "cannot obliterate a queue that is not paused")
            }
        }
    }
}
