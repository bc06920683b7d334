import Foundation
import RedisClient

/// Manual processing: the steps a worker takes, for callers that drive jobs themselves
/// (as Node BullMQ's manual-processing API). `Worker` is built on these.
extension Queue {
    /// What finishing a job led to.
    public enum FinishOutcome: Sendable {
        /// Recorded; `next` is the job fetched in the same call, when one was asked for and ready.
        case finished(next: ActiveJob?)
        /// Put back for another attempt (delayed by its backoff, or at once).
        case retried
        /// The lock was gone or belonged to someone else (BullMQ error code), so nothing was recorded.
        case lockLost(code: Int)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Takes the next job under a lock (`moveToActive`). Nil when none is ready; `nextDelayedAt`
    /// then tells when the earliest delayed job is due (ms), if any.
    public func fetchNextJob(token: String, lockDuration: Duration) async throws -> (job: ActiveJob?, nextDelayedAt: Int64?) {
        let reply = try await client.run(
            Scripts.moveToActive, keys: keys.fetchKeys,
            arguments: [.string(keys.base), .string(String(Self.now())), .string(token), .string(String(Self.milliseconds(lockDuration)))])
        return decodeFetched(reply, token: token)
    }

    func decodeFetched(_ reply: RESPValue, token: String) -> (job: ActiveJob?, nextDelayedAt: Int64?) {
        guard let parts = reply.array, parts.count == 4 else { return (nil, nil) }
        if let id = parts[1].string, id != "0", let hash = parts[0].stringMap {
            return (ActiveJob(job: Job(id: id, hash: hash), token: token, queue: self), nil)
        }
        if let due = parts[3].int, due > 0 { return (nil, due) }
        return (nil, nil)
    }

    /// Marks an active job completed with a JSON return value; optionally fetches the next job in the same call.
    public func complete(
        _ active: ActiveJob, returnValue: String, keep: JobOptions.KeepJobs? = nil,
        fetchNext: (token: String, lockDuration: Duration)? = nil
    ) async throws -> FinishOutcome {
        let options = active.job.options
        return try await finish(
            active, field: "returnvalue", value: returnValue, target: keys.completed, targetName: "completed",
            keep: options.removeOnComplete ?? keep, stacktrace: "", fetchNext: fetchNext)
    }

    /// Records a failed attempt: retried with the job's backoff while attempts remain (and `retryable`),
    /// otherwise moved to failed.
    public func fail(
        _ active: ActiveJob, reason: String, retryable: Bool = true, keep: JobOptions.KeepJobs? = nil,
        fetchNext: (token: String, lockDuration: Duration)? = nil
    ) async throws -> FinishOutcome {
        let job = active.job
        let options = job.options
        let attemptsMade = job.attemptsMade + 1
        let stacktrace = Self.stacktrace(previous: job.stacktrace, adding: reason)
        if retryable, attemptsMade < options.attempts {
            let delay = options.backoff?.delay(afterAttempts: attemptsMade) ?? 0
            let code = try await client.run(
                Scripts.retryAttempt, keys: keys.fetchKeys + [keys.job(job.id)],
                arguments: [.string(keys.base), .string(String(Self.now())), .string(job.id), .string(active.token), .string(String(delay)),
                            .string(reason), .string(stacktrace), options.lifo ? "RPUSH" : "LPUSH"]).int ?? 0
            return code < 0 ? .lockLost(code: Int(code)) : .retried
        }
        return try await finish(
            active, field: "failedReason", value: reason, target: keys.failed, targetName: "failed",
            keep: options.removeOnFail ?? keep, stacktrace: stacktrace, fetchNext: fetchNext)
    }

    func finish(
        _ active: ActiveJob, field: String, value: String, target: String, targetName: String, keep: JobOptions.KeepJobs?,
        stacktrace: String, fetchNext: (token: String, lockDuration: Duration)?
    ) async throws -> FinishOutcome {
        let job = active.job
        let (count, age) = keep?.scriptArguments ?? (-1, nil)
        let arguments: [RESPArgument] = [
            .string(job.id), .string(String(Self.now())), .string(field), .string(value), .string(targetName), .string(active.token),
            .string(String(count)), .string(age.map(String.init) ?? ""), .string(String(max(1, job.options.attempts))), .string(stacktrace),
            fetchNext == nil ? "" : "1", .string(keys.base),
            .string(String(Self.milliseconds(fetchNext?.lockDuration ?? .seconds(30)))), .string(fetchNext?.token ?? "0"),
        ]
        let reply = try await client.run(Scripts.moveToFinished, keys: keys.fetchKeys + [target, keys.job(job.id)], arguments: arguments)
        if let code = reply.int, code < 0 { return .lockLost(code: Int(code)) }
        return .finished(next: fetchNext.flatMap { decodeFetched(reply, token: $0.token).job })
    }

    /// Gives an active job back without counting an attempt: to the front of the queue, or due again after `delay`.
    @discardableResult
    public func release(_ active: ActiveJob, after delay: Duration = .zero) async throws -> Bool {
        let arguments: [RESPArgument] = [.string(active.job.id), .string(active.token), .string(String(Self.now())), .string(String(Self.milliseconds(delay)))]
        return try await client.run(Scripts.releaseJob, keys: keys.fetchKeys + [keys.job(active.job.id)], arguments: arguments).int == 0
    }

    /// Extends the locks of jobs held with the given tokens in one round trip; returns the ids whose lock was lost.
    public func extendLocks(_ held: [(id: String, token: String)], duration: Duration) async throws -> [String] {
        guard !held.isEmpty else { return [] }
        let ms = String(Self.milliseconds(duration))
        let commands = held.map { id, token in
            RedisClient.evalsha(Scripts.extendLock, keys: [keys.lock(id), keys.stalled], arguments: [.string(token), .string(ms), .string(id)])
        }
        var replies = try await client.pipeline(commands)
        if Self.hasNoScript(replies) {
            try await client.preload([Scripts.extendLock])
            replies = try await client.pipeline(commands)
        }
        return zip(held, replies).compactMap { entry, reply in reply.int == 1 ? nil : entry.id }
    }

    /// Runs the stalled-job sweep (at most once per `interval` across all workers); returns recovered ids.
    @discardableResult
    public func sweepStalledJobs(maxStalledCount: Int, interval: Duration) async throws -> [String] {
        let reply = try await client.run(
            Scripts.moveStalledJobsToWait,
            keys: [keys.stalled, keys.wait, keys.active, keys.stalledCheck, keys.meta, keys.paused, keys.marker, keys.events],
            arguments: [.string(String(maxStalledCount)), .string(keys.base), .string(String(Self.now())), .string(String(Self.milliseconds(interval)))])
        return reply.array?.compactMap(\.string) ?? []
    }

    /// Blocks on the marker (BZPOPMIN) until a job may be ready or `timeout` passes. Returns the due time (ms)
    /// when the marker announced a delayed job that is not due yet. Use a dedicated connection.
    public func waitForMarker(timeout: Duration, on connection: RedisConnection) async throws -> Int64? {
        let seconds = max(0.001, Double(Self.milliseconds(timeout)) / 1000)
        let reply = try await connection.send(["BZPOPMIN", .string(keys.marker), .string(String(format: "%.3f", seconds))])
        if let popped = reply.array, popped.count == 3, let score = popped[2].double, score > Double(Self.now()) {
            return Int64(score)
        }
        return nil
    }

    static func stacktrace(previous: String?, adding entry: String, limit: Int = 10) -> String {
        var entries = (try? JSONDecoder().decode([String].self, from: Data((previous ?? "[]").utf8))) ?? []
        entries.append(entry)
        let data = (try? JSONEncoder().encode(Array(entries.suffix(limit)))) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
