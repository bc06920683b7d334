import BullMQ
import Foundation
import NIOConcurrencyHelpers
import RedisClient
import Testing

/// Both directions against the real Python `bullmq` 3.4.4 package on the same Redis.
@Suite(needsRedis, .serialized) struct PythonInteropTests {
    @Test func aPythonWorkerProcessesSwiftJobsInPriorityOrderWithRetriesAndProgress() async throws {
        try await withQueue { queue, _ in
            let free = try await queue.add("free", data: #"{"plan":"FREE"}"#, options: JobOptions(priority: 10))
            let pro = try await queue.add("pro", data: #"{"plan":"PRO"}"#, options: JobOptions(priority: 6))
            let payg = try await queue.add("payg", data: #"{"plan":"PAYG"}"#, options: JobOptions(priority: 1))
            let flaky = try await queue.add(
                "flaky", data: #"{"fail_until_attempt":3}"#, options: JobOptions(attempts: 3, backoff: .exponential(milliseconds: 100)))
            let delayed = try await queue.add("delayed", data: #"{"late":true}"#, options: JobOptions(delay: 500))
            let broken = try await queue.add("broken", data: #"{"fail":true}"#, options: JobOptions(attempts: 1))
            let finished = try #require(try await pythonPeer("work", queue: queue, ["--count", "6", "--timeout", "60"]) as? [[String: Any]])
            let order = finished.compactMap { $0["name"] as? String }
            #expect(order.firstIndex(of: "payg")! < order.firstIndex(of: "pro")!)
            #expect(order.firstIndex(of: "pro")! < order.firstIndex(of: "free")!)
            for id in [free, pro, payg, delayed] {
                let job = try #require(try await queue.getJob(id))
                #expect(try await queue.getJobState(id) == .completed)
                #expect(job.progress == "50")
                let value = try JSONSerialization.jsonObject(with: Data((job.returnValue ?? "").utf8)) as? [String: Any]
                #expect(value?["by"] as? String == "python")
            }
            #expect(try await queue.getJob(flaky)?.attemptsMade == 3)
            #expect(try await queue.getJobState(flaky) == .completed)
            #expect(try await queue.getJobState(broken) == .failed)
            #expect(try await queue.getJob(broken)?.failedReason == "python failure on attempt 1")
            let events = try await QueueEvents(queue: queue).read(after: "0", count: 1000)
            #expect(events.filter { $0.name == "delayed" && $0.jobId == flaky }.count == 2)
            #expect(events.contains { $0.name == "progress" && $0.fields["data"] == "50" })
        }
    }

    @Test func aSwiftWorkerProcessesPythonJobsAndPythonSeesEverything() async throws {
        try await withQueue { queue, _ in
            let single = try #require(try await pythonPeer("add", queue: queue, ["--jobs", #"[{"name":"one","data":{"x":1},"opts":{"priority":3}}]"#]) as? [String])
            let bulk = try #require(try await pythonPeer("add", queue: queue, ["--bulk", "--jobs",
                #"[{"name":"ok","data":{"x":2}},{"name":"bad","data":{"x":3},"opts":{"attempts":2,"backoff":{"type":"fixed","delay":100}}}]"#]) as? [String])
            #expect(single.count == 1 && bulk.count == 2)
            let events = pythonPeerInBackground("events", queue: queue, ["--count", "40", "--timeout", "8"])
            try await withWorker(queue, processor: { active in
                try await active.updateProgress(#"{"pct":40}"#)
                if active.job.name == "bad" { throw TestFailure(description: "swift says no") }
                return #"{"by":"swift","data":\#(active.job.data)}"#
            }) { _ in
                let settled = try await eventually(15) {
                    let counts = try await queue.getJobCounts([.completed, .failed])
                    return counts[.completed] == 2 && counts[.failed] == 1
                }
                #expect(settled)
            }
            let view = try #require(try await pythonPeer("inspect", queue: queue, ["--ids", (single + bulk).joined(separator: ",")]) as? [String: Any])
            let one = try #require(view[single[0]] as? [String: Any])
            #expect(one["state"] as? String == "completed")
            #expect((one["returnvalue"] as? [String: Any])?["by"] as? String == "swift")
            #expect((one["progress"] as? [String: Any])?["pct"] as? Int == 40)
            #expect(one["attemptsMade"] as? Int == 1)
            let bad = try #require(view[bulk[1]] as? [String: Any])
            #expect(bad["state"] as? String == "failed")
            #expect(bad["failedReason"] as? String == "swift says no")
            #expect(bad["attemptsMade"] as? Int == 2)
            let seen = try #require(try decodeJSON(try await events.value) as? [[String: Any]])
            let kinds = Set(seen.compactMap { $0["event"] as? String })
            #expect(kinds.isSuperset(of: ["active", "progress", "completed", "failed"]))
            #expect(seen.contains { $0["event"] as? String == "failed" && $0["failedReason"] as? String == "swift says no" })
        }
    }

    @Test func aPythonWorkersStalledSweepRecoversAJobASwiftWorkerAbandoned() async throws {
        try await withQueue { queue, _ in
            let id = try await queue.add("orphan", data: #"{"n":1}"#)
            var options = Worker.Options()
            options.lockDuration = .milliseconds(500)
            options.stalledInterval = .milliseconds(700)
            let abandoned = Worker(queue: queue, options: options) { _ in
                try await Task.sleep(for: .seconds(60))
                return "null"
            }
            let run = Task { try await abandoned.run() }
            try await expectEventually { try await queue.getJobState(id) == .active }
            run.cancel() // stops lock renewal: the job's lock expires like a killed process's
            abandoned.close()
            let finished = try #require(try await pythonPeer("work", queue: queue, ["--count", "1", "--stalled-interval", "700", "--timeout", "30"]) as? [[String: Any]])
            #expect(finished.first?["outcome"] as? String == "completed")
            #expect(try await queue.getJobState(id) == .completed)
        }
    }
}
