import BullMQ
import Foundation
import RedisClient
import Testing

@Suite(needsRedis, .serialized) struct QueueLayoutTests {
    @Test func standardAddWritesBullMQsHashListMarkerAndEvents() async throws {
        try await withQueue { queue, client in
            let id = try await queue.add("transcribe", data: #"{"a":1}"#, options: JobOptions(attempts: 3, backoff: .exponential(milliseconds: 200)))
            #expect(id == "1")
            let hash = try await client.hash(queue.keys.job(id))
            #expect(hash["name"] == "transcribe")
            #expect(hash["data"] == #"{"a":1}"#)
            let opts = try #require(try JSONSerialization.jsonObject(with: Data((hash["opts"] ?? "").utf8)) as? [String: Any])
            #expect(opts["attempts"] as? Int == 3 && opts["delay"] as? Int == 0 && opts.count == 3)
            let backoff = opts["backoff"] as? [String: Any]
            #expect(backoff?["delay"] as? Int == 200 && backoff?["type"] as? String == "exponential")
            #expect(hash["delay"] == "0" && hash["priority"] == "0")
            #expect(Int64(hash["timestamp"] ?? "") != nil, "integer ms string")
            #expect(try await client.send(["LRANGE", .string(queue.keys.wait), "0", "-1"]).array?.compactMap(\.string) == ["1"])
            #expect(try await client.zsetWithScores(queue.keys.marker).map(\.0) == ["0"])
            let events = try await QueueEvents(queue: queue).read(after: "0")
            #expect(events.map(\.name) == ["added", "waiting"])
            #expect(try await client.hash(queue.keys.meta)["opts.maxLenEvents"] == "10000")
            #expect(try await queue.getJobState(id) == .waiting)
        }
    }

    @Test func prioritizedAndDelayedScoresFollowTheProtocol() async throws {
        try await withQueue { queue, client in
            let p5 = try await queue.add("a", data: "{}", options: JobOptions(priority: 5))
            let p1 = try await queue.add("b", data: "{}", options: JobOptions(priority: 1))
            let scores = Dictionary(uniqueKeysWithValues: try await client.zsetWithScores(queue.keys.prioritized))
            #expect(scores[p5] == Double(5) * 4_294_967_296 + 1)
            #expect(scores[p1] == Double(1) * 4_294_967_296 + 2)
            let timestamp: Int64 = 1_795_908_488_709
            let delayed = try await queue.add("c", data: "{}", options: JobOptions(delay: 1000, timestamp: timestamp))
            let same = try await queue.add("d", data: "{}", options: JobOptions(delay: 1000, timestamp: timestamp))
            let delayedScores = Dictionary(uniqueKeysWithValues: try await client.zsetWithScores(queue.keys.delayed))
            #expect(delayedScores[delayed] == Double(timestamp + 1000) * 4096)
            #expect(delayedScores[same] == Double(timestamp + 1000) * 4096 + 1)
            let marker = Dictionary(uniqueKeysWithValues: try await client.zsetWithScores(queue.keys.marker))
            #expect(marker["1"] == Double(timestamp + 1000))
            #expect(try await queue.getJobState(delayed) == .delayed)
            #expect(try await queue.getJobState(p1) == .prioritized)
            let counts = try await queue.getJobCounts()
            #expect(counts[.prioritized] == 2 && counts[.delayed] == 2 && counts[.waiting] == 0)
        }
    }

    @Test func customIdsAreCheckedAndDuplicatesKeepTheFirstJob() async throws {
        try await withQueue { queue, _ in
            await #expect(throws: Queue.QueueError.self) { try await queue.add("x", data: "{}", options: JobOptions(jobId: "42")) }
            await #expect(throws: Queue.QueueError.self) { try await queue.add("x", data: "{}", options: JobOptions(jobId: "active")) }
            await #expect(throws: Queue.QueueError.self) { try await queue.add("x", data: "{}", options: JobOptions(jobId: "a:b")) }
            let first = try await queue.add("x", data: #"{"n":1}"#, options: JobOptions(jobId: "tr-1"))
            let again = try await queue.add("x", data: #"{"n":2}"#, options: JobOptions(jobId: "tr-1"))
            #expect(first == "tr-1" && again == "tr-1")
            #expect(try await queue.getJob("tr-1")?.data == #"{"n":1}"#)
            let events = try await QueueEvents(queue: queue).read(after: "0").map(\.name)
            #expect(events.contains("duplicated"))
        }
    }

    @Test func addBulkIsOneTransaction() async throws {
        try await withQueue { queue, client in
            // A server that has never seen the script (or flushed it) still takes the batch.
            try await client.send(["SCRIPT", "FLUSH"])
            let ids = try await queue.addBulk((0..<50).map { ("bulk", #"{"i":\#($0)}"#, JobOptions()) })
            #expect(ids == (1...50).map(String.init))
            #expect(try await queue.getJobCounts([.waiting])[.waiting] == 50)
        }
    }

    @Test func removeRetryCleanPauseAndObliterate() async throws {
        try await withQueue { queue, client in
            let id = try await queue.add("x", data: "{}")
            #expect(try await queue.remove(id))
            #expect(try await queue.getJob(id) == nil)
            #expect(try await queue.remove(id) == false)
            try await queue.pause()
            #expect(try await queue.isPaused())
            _ = try await queue.add("y", data: "{}")
            #expect(try await client.zsetWithScores(queue.keys.marker).isEmpty, "no marker while paused")
            try await queue.resume()
            #expect(try await client.zsetWithScores(queue.keys.marker).map(\.0) == ["0"])
            let cleaned = try await queue.clean(grace: 0, state: .waiting)
            #expect(cleaned.count == 1)
            #expect(try await queue.getJobCounts([.waiting])[.waiting] == 0)
            _ = try await queue.add("z", data: "{}")
            try await queue.obliterate()
            #expect(try await client.send(["KEYS", .string(queue.keys.base + "*")]).array?.isEmpty == true)
        }
    }
}
