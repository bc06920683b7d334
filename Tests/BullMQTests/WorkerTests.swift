import BullMQ
import Foundation
import NIOConcurrencyHelpers
import RedisClient
import Testing

@Suite(needsRedis, .serialized) struct WorkerTests {
    @Test func processesJobsInPriorityOrderAndRecordsResults() async throws {
        try await withQueue { queue, client in
            _ = try await queue.add("free", data: #"{"plan":"FREE"}"#, options: JobOptions(priority: 10))
            _ = try await queue.add("pro", data: #"{"plan":"PRO"}"#, options: JobOptions(priority: 6))
            _ = try await queue.add("payg", data: #"{"plan":"PAYG"}"#, options: JobOptions(priority: 1))
            let order = NIOLockedValueBox<[String]>([])
            try await withWorker(queue, processor: { job in
                order.withLockedValue { $0.append(job.job.name) }
                try await job.updateProgress("50")
                return #"{"ok":true}"#
            }) { _ in
                try await expectEventually { try await queue.getJobCounts([.completed])[.completed] == 3 }
            }
            #expect(order.withLockedValue { $0 } == ["payg", "pro", "free"])
            let job = try #require(try await queue.getJob("1"))
            #expect(job.returnValue == #"{"ok":true}"#)
            #expect(job.progress == "50")
            #expect(job.attemptsMade == 1 && job.attemptsStarted == 1)
            #expect(job.finishedOn != nil && job.processedOn != nil)
            #expect(try await client.send(["EXISTS", .string(queue.keys.lock("1"))]).int == 0)
            let names = try await QueueEvents(queue: queue).read(after: "0").map(\.name)
            #expect(names.filter { $0 == "completed" }.count == 3)
            #expect(names.last == "drained")
        }
    }

    @Test func retriesWithExponentialBackoffThenSucceeds() async throws {
        try await withQueue { queue, _ in
            let id = try await queue.add("flaky", data: "{}", options: JobOptions(attempts: 3, backoff: .exponential(milliseconds: 100)))
            let attempts = NIOLockedValueBox<[Date]>([])
            try await withWorker(queue, processor: { _ in
                let count = attempts.withLockedValue { $0.append(Date()); return $0.count }
                if count < 3 { throw TestFailure(description: "attempt \(count) fails") }
                return "\"done\""
            }) { _ in
                try await expectEventually { try await queue.getJobState(id) == .completed }
            }
            let times = attempts.withLockedValue { $0 }
            #expect(times.count == 3)
            #expect(times[1].timeIntervalSince(times[0]) >= 0.09)
            #expect(times[2].timeIntervalSince(times[1]) >= 0.19, "the second delay doubles")
            let job = try #require(try await queue.getJob(id))
            #expect(job.attemptsMade == 3)
            #expect(job.failedReason == "attempt 2 fails")
            let events = try await QueueEvents(queue: queue).read(after: "0")
            #expect(events.filter { $0.name == "delayed" }.count == 2)
            #expect(!events.contains { $0.name == "failed" }, "a retried attempt is not a failed event")
        }
    }

    @Test func finalFailureAndUnrecoverableErrors() async throws {
        try await withQueue { queue, _ in
            let retried = try await queue.add("a", data: "{}", options: JobOptions(attempts: 2))
            let fatal = try await queue.add("b", data: "{}", options: JobOptions(attempts: 5))
            try await withWorker(queue, processor: { job in
                if job.job.name == "b" { throw UnrecoverableError("bad audio") }
                throw TestFailure(description: "always")
            }) { _ in
                try await expectEventually { try await queue.getJobCounts([.failed])[.failed] == 2 }
            }
            #expect(try await queue.getJob(retried)?.attemptsMade == 2)
            #expect(try await queue.getJob(fatal)?.attemptsMade == 1)
            #expect(try await queue.getJob(fatal)?.failedReason == "bad audio")
            let stack = try #require(try await queue.getJob(retried)?.stacktrace)
            #expect(try JSONDecoder().decode([String].self, from: Data(stack.utf8)).count == 2)
            let events = try await QueueEvents(queue: queue).read(after: "0").map(\.name)
            // Only a failure that used up the job's attempts announces it (BullMQ's rule).
            #expect(events.filter { $0 == "retries-exhausted" }.count == 1)
            #expect(try await queue.retryJob(fatal))
            #expect(try await queue.getJobState(fatal) == .waiting)
        }
    }

    @Test func delayedJobsWaitForTheirTime() async throws {
        try await withQueue { queue, _ in
            let added = Date()
            let id = try await queue.add("later", data: "{}", options: JobOptions(delay: 600))
            let ranAt = NIOLockedValueBox<Date?>(nil)
            try await withWorker(queue, processor: { _ in
                ranAt.withLockedValue { $0 = Date() }
                return "null"
            }) { _ in
                try await expectEventually { try await queue.getJobState(id) == .completed }
            }
            let delay = try #require(ranAt.withLockedValue { $0 }).timeIntervalSince(added)
            // Never early; the upper bound only catches a worker that sleeps through the delay's end (a busy CI
            // machine has taken over 3 s to get there, so it is loose).
            #expect(delay >= 0.59 && delay < 10, "ran after \(delay) s")
        }
    }

    @Test func aCancelReachesTheRunningProcessor() async throws {
        try await withQueue { queue, _ in
            let id = try await queue.add("long", data: "{}")
            let started = NIOLockedValueBox(false)
            try await withWorker(queue, processor: { _ in
                started.withLockedValue { $0 = true }
                try await Task.sleep(for: .seconds(30))
                return "null"
            }) { worker in
                try await expectEventually { started.withLockedValue { $0 } }
                #expect(worker.cancel(id))
                try await expectEventually { worker.runningJobIds.isEmpty }
            }
        }
    }

    @Test func aJobWhoseWorkerDiedIsRecoveredByTheStalledSweep() async throws {
        try await withQueue { queue, client in
            let id = try await queue.add("orphan", data: "{}")
            // A worker that takes the job and dies: lock with a short expiry, never renewed.
            var dead = Worker.Options()
            dead.lockDuration = .milliseconds(300)
            dead.stalledInterval = .milliseconds(500)
            let deadWorker = Worker(queue: queue, options: dead) { _ in
                try await Task.sleep(for: .seconds(60))
                return "null"
            }
            let deadRun = Task { try await deadWorker.run() }
            try await expectEventually { try await queue.getJobState(id) == .active }
            deadRun.cancel()
            deadWorker.close()
            var options = Worker.Options()
            options.stalledInterval = .milliseconds(500)
            let ran = NIOLockedValueBox(0)
            try await withWorker(queue, options: options, processor: { _ in
                ran.withLockedValue { $0 += 1 }
                return #""recovered""#
            }) { _ in
                try await expectEventually(15) { try await queue.getJobState(id) == .completed }
            }
            #expect(ran.withLockedValue { $0 } == 1)
            #expect(try await client.hash(queue.keys.job(id))["stc"] == "1")
            let events = try await QueueEvents(queue: queue).read(after: "0").map(\.name)
            #expect(events.contains("stalled"))
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
}
