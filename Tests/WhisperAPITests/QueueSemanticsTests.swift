import Foundation
import SQLQueue
import Testing
import WhisperAPICore

/// The queue semantics every driver must have: the embedded SQL queue and the Redis (BullMQ) queue.
@Suite(.serialized) struct QueueSemanticsTests {
    let lock: Duration = .seconds(30)

    @Test(arguments: QueueDriver.available)
    func paidPlansRunFirstAndFIFOWithinAPlan(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            _ = try await queue.addTranscriptionJob(jobData("free-1"), priority: Plan.free.queuePriority, jobId: "free-1")
            _ = try await queue.addTranscriptionJob(jobData("pro-1"), priority: Plan.pro.queuePriority, jobId: "pro-1")
            _ = try await queue.addTranscriptionJob(jobData("free-2"), priority: Plan.free.queuePriority, jobId: "free-2")
            _ = try await queue.addTranscriptionJob(jobData("payg-1"), priority: Plan.payg.queuePriority, jobId: "payg-1")
            _ = try await queue.addTranscriptionJob(jobData("payg-2"), priority: Plan.payg.queuePriority, jobId: "payg-2")
            var order: [String] = []
            while let job = try await queue.claimNextJob(lockDuration: lock) { order.append(job.id) }
            #expect(order == ["payg-1", "payg-2", "pro-1", "free-1", "free-2"])
        }
    }

    @Test(arguments: QueueDriver.available)
    func addingTheSameJobIdTwiceKeepsOneJob(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            _ = try await queue.addTranscriptionJob(jobData("a"), priority: 1, jobId: "a")
            _ = try await queue.addTranscriptionJob(jobData("a"), priority: 1, jobId: "a")
            #expect(try await queue.getQueueStats().waiting == 1)
        }
    }

    @Test(arguments: QueueDriver.available)
    func failedAttemptsRetryWithExponentialBackoffThenFail(driver: QueueDriver) async throws {
        // Delays of 400 ms then 800 ms: wide enough that a loaded machine does not blur them.
        try await withQueue(driver, retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(400))) { queue in
            _ = try await queue.addTranscriptionJob(jobData("j"), priority: 1, jobId: "j")
            let first = try #require(try await queue.claimNextJob(lockDuration: lock))
            #expect(first.attempt == 1)
            try await queue.failJob(first, reason: "boom", retryable: true)
            #expect(try await queue.getJobStatus("j")?.state == .delayed)
            #expect(try await queue.claimNextJob(lockDuration: lock) == nil, "backoff must delay the retry")
            try await Task.sleep(for: .milliseconds(450))
            let second = try #require(try await claimEventually(queue, lockDuration: lock))
            #expect(second.attempt == 2)
            try await queue.failJob(second, reason: "boom", retryable: true)
            try await Task.sleep(for: .milliseconds(450))
            #expect(try await queue.claimNextJob(lockDuration: lock) == nil, "the second delay is twice the first")
            try await Task.sleep(for: .milliseconds(400))
            let third = try #require(try await claimEventually(queue, lockDuration: lock))
            try await queue.failJob(third, reason: "final boom", retryable: true)
            let status = try #require(try await queue.getJobStatus("j"))
            #expect(status.state == .failed)
            #expect(status.attemptsMade == 3)
            #expect(status.failedReason == "final boom")
            let kinds = try await queue.events(after: nil, limit: 100).map(\.kind).filter { $0 != .other }
            #expect(kinds == [.active, .waiting, .active, .waiting, .active, .failed])
        }
    }

    @Test(arguments: QueueDriver.available)
    func nonRetryableFailuresFailAtOnce(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            _ = try await queue.addTranscriptionJob(jobData("bad"), priority: 1, jobId: "bad")
            let job = try #require(try await queue.claimNextJob(lockDuration: lock))
            try await queue.failJob(job, reason: "INVALID_AUDIO: nope", retryable: false)
            #expect(try await queue.getJobStatus("bad")?.state == .failed)
            #expect(try await queue.getJobStatus("bad")?.attemptsMade == 1)
        }
    }

    @Test(arguments: QueueDriver.available)
    func anExpiredLockLetsAnotherWorkerTakeTheJobExactlyOnce(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            _ = try await queue.addTranscriptionJob(jobData("j"), priority: 1, jobId: "j")
            let dead = try #require(try await queue.claimNextJob(lockDuration: .milliseconds(200)))
            #expect(try await queue.claimNextJob(lockDuration: lock) == nil, "a locked job is not handed out twice")
            try await Task.sleep(for: .milliseconds(300))
            let taken = try #require(try await claimEventually(queue, lockDuration: lock))
            #expect(taken.id == "j")
            #expect(taken.token != dead.token)
            #expect(try await queue.completeJob(dead, result: result) == false, "the old worker lost its lock")
            #expect(try await queue.updateJobProgress(dead, progress: 50) == false)
            #expect(try await queue.completeJob(taken, result: result))
            let status = try #require(try await queue.getJobStatus("j"))
            #expect(status.state == .completed)
            #expect(status.returnValue == result)
            let completions = try await queue.events(after: nil, limit: 200).filter { $0.kind == .completed }
            #expect(completions.count == 1)
        }
    }

    @Test(arguments: QueueDriver.available)
    func renewingTheLockKeepsTheJob(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            _ = try await queue.addTranscriptionJob(jobData("j"), priority: 1, jobId: "j")
            let job = try #require(try await queue.claimNextJob(lockDuration: .milliseconds(1000)))
            for _ in 0..<4 {
                try await Task.sleep(for: .milliseconds(300))
                #expect(try await queue.renewLock(job, lockDuration: .milliseconds(1000)))
            }
            #expect(try await queue.claimNextJob(lockDuration: lock) == nil)
        }
    }

    @Test(arguments: QueueDriver.available)
    func aJobThatKeepsStallingFails(driver: QueueDriver) async throws {
        try await withQueue(driver, maxStalledCount: 1) { queue in
            _ = try await queue.addTranscriptionJob(jobData("j"), priority: 1, jobId: "j")
            _ = try #require(try await queue.claimNextJob(lockDuration: .milliseconds(50)))
            try await Task.sleep(for: .milliseconds(80))
            _ = try #require(try await claimEventually(queue, lockDuration: .milliseconds(50)))
            try await Task.sleep(for: .milliseconds(80))
            #expect(try await claimEventually(queue, lockDuration: lock, seconds: 1) == nil)
            let status = try #require(try await queue.getJobStatus("j"))
            #expect(status.state == .failed)
            #expect(status.failedReason?.contains("stalled") == true)
        }
    }

    @Test(arguments: QueueDriver.available)
    func cancelRemovesWaitingJobsAndStopsActiveOnes(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            _ = try await queue.addTranscriptionJob(jobData("running"), priority: 1, jobId: "running")
            _ = try await queue.addTranscriptionJob(jobData("queued"), priority: 1, jobId: "queued")
            let signals = queue.cancellations()
            let active = try #require(try await queue.claimNextJob(lockDuration: lock))
            #expect(try await queue.cancelJob("queued"))
            #expect(try await queue.cancelJob("running"))
            var iterator = signals.makeAsyncIterator()
            #expect(await iterator.next() == "queued")
            #expect(await iterator.next() == "running")
            #expect(try await queue.claimNextJob(lockDuration: lock) == nil)
            #expect(try await queue.completeJob(active, result: result) == false)
            #expect(try await queue.renewLock(active, lockDuration: lock) == false)
            #expect(try await queue.getJobStatus("running")?.state == .cancelled)
            #expect(try await queue.cancelJob("running") == false, "a finished job cannot be cancelled again")
            #expect(try await queue.cancelJob("missing") == false)
        }
    }

    @Test(arguments: QueueDriver.available)
    func failedJobsCanBeRetried(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            _ = try await queue.addTranscriptionJob(jobData("j"), priority: 1, jobId: "j")
            let job = try #require(try await queue.claimNextJob(lockDuration: lock))
            try await queue.failJob(job, reason: "x", retryable: false)
            #expect(try await queue.retryFailedJob("j"))
            #expect(try await queue.retryFailedJob("j") == false, "only failed jobs are retried")
            let again = try #require(try await queue.claimNextJob(lockDuration: lock))
            #expect(again.attempt == 1)
        }
    }

    @Test(arguments: QueueDriver.available)
    func releasedJobsGoBackToTheQueue(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            _ = try await queue.addTranscriptionJob(jobData("j"), priority: 1, jobId: "j")
            let job = try #require(try await queue.claimNextJob(lockDuration: lock))
            try await queue.releaseJob(job)
            let again = try #require(try await queue.claimNextJob(lockDuration: lock))
            #expect(again.id == "j")
            #expect(again.attempt == 1, "a release is not a failed attempt")
        }
    }

    @Test(arguments: QueueDriver.available)
    func aJobReleasedWithADelayWaitsItOutBehindTheOthersAndCountsNoAttempt(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            _ = try await queue.addTranscriptionJob(jobData("diarized"), priority: 1, jobId: "diarized")
            _ = try await queue.addTranscriptionJob(jobData("plain"), priority: 1, jobId: "plain")
            for round in 1...4 {  // more rounds than a job has attempts
                let job = try #require(try await queue.claimNextJob(lockDuration: lock))
                #expect(job.id == "diarized" && job.attempt == 1, "round \(round)")
                try await queue.releaseJob(job, after: .milliseconds(400))
                #expect(try await queue.getQueueStats().delayed == 1)
                if round == 1 {
                    let next = try #require(try await queue.claimNextJob(lockDuration: lock))
                    #expect(next.id == "plain", "the released job waits; the next one is taken")
                    try await queue.completeJob(next, result: result)
                }
                #expect(try await queue.claimNextJob(lockDuration: lock) == nil)
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    @Test(arguments: QueueDriver.available)
    func statsCountEveryState(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            for id in ["a", "b", "c", "d"] { _ = try await queue.addTranscriptionJob(jobData(id), priority: 1, jobId: id) }
            let a = try #require(try await queue.claimNextJob(lockDuration: lock))
            try await queue.completeJob(a, result: result)
            let b = try #require(try await queue.claimNextJob(lockDuration: lock))
            try await queue.failJob(b, reason: "x", retryable: true)
            _ = try #require(try await queue.claimNextJob(lockDuration: lock))
            let stats = try await queue.getQueueStats()
            #expect(stats == QueueStats(waiting: 1, active: 1, completed: 1, failed: 0, delayed: 1, cancelled: 0))
        }
    }

    @Test(arguments: QueueDriver.available)
    func cleanupRemovesOnlyOldFinishedJobs(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            for id in ["done", "broken", "pending"] { _ = try await queue.addTranscriptionJob(jobData(id), priority: 1, jobId: id) }
            try await queue.completeJob(try #require(try await queue.claimNextJob(lockDuration: lock)), result: result)
            try await queue.failJob(try #require(try await queue.claimNextJob(lockDuration: lock)), reason: "x", retryable: false)
            let past = Date().addingTimeInterval(-3600)
            #expect(try await queue.cleanupOldJobs(completedBefore: past, failedBefore: past) == 0)
            let future = Date().addingTimeInterval(60)
            #expect(try await queue.cleanupOldJobs(completedBefore: future, failedBefore: past) == 1)
            #expect(try await queue.getJobStatus("done") == nil)
            #expect(try await queue.getJobStatus("broken") != nil)
            #expect(try await queue.cleanupOldJobs(completedBefore: future, failedBefore: future) == 1)
            #expect(try await queue.getJobStatus("pending")?.state == .waiting)
        }
    }

    @Test(arguments: QueueDriver.available)
    func progressAndEventsArriveInOrder(driver: QueueDriver) async throws {
        try await withQueue(driver) { queue in
            _ = try await queue.addTranscriptionJob(jobData("j"), priority: 1, jobId: "j")
            let job = try #require(try await queue.claimNextJob(lockDuration: lock))
            #expect(try await queue.updateJobProgress(job, progress: 40))
            #expect(try await queue.updateJobProgress(job, progress: 250))
            try await queue.completeJob(job, result: result)
            let events = try await queue.events(after: nil, limit: 100).filter { $0.kind != .other }
            #expect(events.map(\.kind) == [.active, .progress, .progress, .completed])
            #expect(events.map(\.progress) == [nil, 40, 100, 100])
            #expect(events.last?.returnValue == result)
            let later = try await queue.events(after: events[1].cursor, limit: 100).filter { $0.kind != .other }
            #expect(later.map(\.kind) == [.progress, .completed])
        }
    }
}

/// Claims until a job comes back (a dead worker's job is taken again once its lock has expired
/// and, on Redis, the stalled sweep has seen it twice).
func claimEventually(_ queue: any JobLeasing, lockDuration: Duration, seconds: Double = 3) async throws -> LeasedJob? {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let job = try await queue.claimNextJob(lockDuration: lockDuration) { return job }
        try await Task.sleep(for: .milliseconds(50))
    }
    return nil
}
