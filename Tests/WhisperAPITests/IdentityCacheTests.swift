import Foundation
import Limits
import Logging
import NIOConcurrencyHelpers
import Persistence
import RedisClient
@testable import Server
import Services
import Testing
import WhisperAPICore

/// The cache of checked bearer keys: it saves the lookups, forgets on any credential change announced by any server,
/// and never outlives its lifetime.
@Suite struct IdentityCacheTests {
    static let identity = Identity(
        user: User(email: "cache@example.com", plan: .free), keyId: UUID(), keyPrefix: "wapi_cache", defaultWebhookURL: nil, session: nil)

    /// Looks `key` up through `cache`, counting the lookups that reached the authenticator.
    func lookUp(_ cache: IdentityCache, _ key: String, counting calls: NIOLockedValueBox<Int>) async throws -> Identity {
        try await cache.identity(key: key) { _ in
            calls.withLockedValue { $0 += 1 }
            return Self.identity
        }
    }

    @Test func aCheckedKeyIsRememberedUntilACredentialChangeOrItsLifetimeEnds() async throws {
        let directory = NSTemporaryDirectory() + "notices-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notices = LocalCredentialNotices(directory: directory)
        let cache = IdentityCache(notices: notices, lifetime: .milliseconds(300))
        let calls = NIOLockedValueBox(0)
        for _ in 0..<5 { _ = try await lookUp(cache, "wapi_key_one", counting: calls) }
        #expect(calls.withLockedValue { $0 } == 1)
        _ = try await lookUp(cache, "wapi_key_two", counting: calls)
        #expect(calls.withLockedValue { $0 } == 2, "another key is looked up on its own")
        await notices.announce()
        _ = try await lookUp(cache, "wapi_key_one", counting: calls)
        #expect(calls.withLockedValue { $0 } == 3, "a credential change makes what is remembered stale at once")
        // A change marked by another process (the CLI) on the same data directory, too.
        _ = try await lookUp(cache, "wapi_key_one", counting: calls)
        await LocalCredentialNotices(directory: directory).announce()
        _ = try await lookUp(cache, "wapi_key_one", counting: calls)
        #expect(calls.withLockedValue { $0 } == 4, "another process's change is seen on the next lookup")
        try await Task.sleep(for: .milliseconds(400))
        _ = try await lookUp(cache, "wapi_key_one", counting: calls)
        #expect(calls.withLockedValue { $0 } == 5, "an entry does not outlive its lifetime")
    }

    @Test func aRefusedKeyIsNeverRemembered() async throws {
        let cache = IdentityCache(notices: LocalCredentialNotices(directory: NSTemporaryDirectory()), lifetime: .seconds(60))
        let calls = NIOLockedValueBox(0)
        for _ in 0..<3 {
            await #expect(throws: APIError.self) {
                _ = try await cache.identity(key: "wapi_bad") { _ in
                    calls.withLockedValue { $0 += 1 }
                    throw APIError.invalidKey
                }
            }
        }
        #expect(calls.withLockedValue { $0 } == 3)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["TEST_REDIS_URL"] != nil, "needs TEST_REDIS_URL"))
    func aChangeAnnouncedOnOneServerReachesAnotherThroughRedis() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let url = try #require(ProcessInfo.processInfo.environment["TEST_REDIS_URL"])
        let client = RedisClient(configuration: try RedisConfiguration(url: url), poolSize: 2, logger: logger)
        let prefix = "test-notices-\(UUID().uuidString.prefix(8))"
        let here = RedisCredentialNotices(client: client, prefix: prefix, logger: logger)
        let there = RedisCredentialNotices(client: client, prefix: prefix, logger: logger)
        let following = Task { await there.follow() }
        let before = there.generation
        await here.announce()
        #expect(here.generation == 1, "the announcing server counts its own change at once")
        // A follower hears what is announced once it reads (from the newest entry on): until then, announce again
        // (a busy machine may take a while to open its connection).
        let deadline = ContinuousClock.now + .seconds(10)
        var waited = 0
        while there.generation == before, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
            if waited % 50 == 0 { await here.announce() }
        }
        #expect(there.generation > before, "the other server heard of the change")
        following.cancel()
        await client.close()
    }
}
