import Foundation
import Limits
import Logging
import NIOConcurrencyHelpers
import RedisClient
import Testing
import WhisperAPICore

/// The rate limiter and the named lock of each driver: in process, and Redis shared by every server.
@Suite(.serialized) struct LimitsTests {
    func withLimits(_ driver: QueueDriver, _ body: (any RateLimiter, any NamedLock) async throws -> Void) async throws {
        switch driver {
        case .sqlite:
            try await body(InProcessRateLimiter(), InProcessLock())
        case .redis:
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let url = try #require(ProcessInfo.processInfo.environment["TEST_REDIS_URL"])
            let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 2, logger: logger)
            let prefix = "test-limits-\(UUID().uuidString.prefix(8))"
            // Patience well past the lock's 10 s expiry: the test checks exclusion, not timing, and a CI
            // machine busy with Whisper once stalled the 20 ms holders long enough to exhaust 10 s of patience.
            do {
                try await body(RedisRateLimiter(client: client, prefix: prefix), RedisLock(client: client, prefix: prefix, patience: .seconds(60)))
            } catch {
                await client.close()
                throw error
            }
            await client.close()
        }
    }

    @Test(arguments: QueueDriver.available)
    func aWindowAllowsItsLimitThenStartsAfresh(driver: QueueDriver) async throws {
        // A window long enough that four hits always land in it, even on a CI machine busy with Whisper (a 600 ms
        // window once ended between the first and second hit); the test then waits out only what is left of it.
        let window = Duration.seconds(3)
        try await withLimits(driver) { limiter, _ in
            var decisions: [RateLimitDecision] = []
            for _ in 0..<4 { decisions.append(try await limiter.hit("k", limit: 3, window: window)) }
            #expect(decisions.map(\.allowed) == [true, true, true, false])
            #expect(decisions.map(\.remaining) == [2, 1, 0, 0])
            #expect(decisions.allSatisfy { $0.resetAfter > .zero && $0.resetAfter <= window })
            #expect(try await limiter.hit("other", limit: 3, window: window).remaining == 2, "keys count apart")
            try await Task.sleep(for: decisions[3].resetAfter + .milliseconds(100))
            #expect(try await limiter.hit("k", limit: 3, window: window).remaining == 2)
        }
    }

    @Test(arguments: QueueDriver.available)
    func oneHolderAtATimePerName(driver: QueueDriver) async throws {
        try await withLimits(driver) { _, lock in
            let inside = NIOLockedValueBox(0)
            let most = NIOLockedValueBox(0)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        try await lock.withLock(index % 3 == 0 ? "other" : "same") {
                            let now = inside.withLockedValue { $0 += 1; return $0 }
                            most.withLockedValue { $0 = max($0, now) }
                            try await Task.sleep(for: .milliseconds(20))
                            inside.withLockedValue { $0 -= 1 }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(most.withLockedValue { $0 } <= 2, "at most one holder of each of the two names")
            // A body that throws still releases the lock.
            await #expect(throws: CancellationError.self) { try await lock.withLock("same") { throw CancellationError() } }
            #expect(try await lock.withLock("same") { 42 } == 42)
        }
    }
}
