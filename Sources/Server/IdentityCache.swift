import Foundation
import NIOConcurrencyHelpers
import Services
import WhisperAPICore

/// Bearer keys this server checked recently, so that a client polling its status does not cost two database reads
/// every time. Entries live a few seconds at most (`lifetime`), and all go stale the moment any server announces a
/// credential change (a key revoked, a plan or a key's webhook changed: `CredentialNotices`), so a revocation is
/// refused at once on every API server. Entries are found by the SHA-256 of the presented key: a key that was never
/// accepted is never remembered, and the plaintext is not kept.
final class IdentityCache: Sendable {
    private struct Entry {
        let identity: Identity
        let expires: ContinuousClock.Instant
        /// The notices' generation when it was checked: any later change makes it stale.
        let generation: Int
    }

    private let entries = NIOLockedValueBox([SIMD4<UInt64>: Entry]())
    let notices: any CredentialNotices
    let lifetime: Duration
    /// At most this many keys are remembered; past it the cache starts again empty.
    let capacity: Int

    init(notices: any CredentialNotices, lifetime: Duration, capacity: Int = 10_000) {
        self.notices = notices
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The identity remembered for `key`, or the one `authenticate` finds (remembered for next time).
    func identity(key: String, authenticate: (String) async throws -> Identity) async throws -> Identity {
        guard lifetime > .zero else { return try await authenticate(key) }
        let digest = APIKeyMaterial.digest(key)
        let now = ContinuousClock.now
        let generation = notices.generation
        if let entry = entries.withLockedValue({ $0[digest] }), entry.expires > now, entry.generation == generation {
            return entry.identity
        }
        let identity = try await authenticate(key)
        entries.withLockedValue { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[digest] = Entry(identity: identity, expires: now + lifetime, generation: generation)
        }
        return identity
    }
}
