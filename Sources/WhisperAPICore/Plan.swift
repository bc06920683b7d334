/// A customer's billing plan.
public enum Plan: String, Codable, Sendable, CaseIterable {
    case free = "FREE"
    case pro = "PRO"
    case payg = "PAYG"

    /// The seed's `JOB_PRIORITIES` weight: a higher weight is served sooner.
    public var weight: Int { JobPriorities.weights[self] ?? 1 }

    /// The queue priority number for this plan's jobs (BullMQ semantics: lower numbers run first).
    public var queuePriority: Int { JobPriorities.queuePriority(forWeight: weight) }
}

/// The seed's `JOB_PRIORITIES` and how they map onto the queue's priority numbers.
///
/// BullMQ serves *lower* priority numbers first, while the seed's weights are "higher is sooner",
/// so the number is `maxWeight + 1 - weight`: PAYG (10) → 1, PRO (5) → 6, FREE (1) → 10.
/// A Python producer that wants PAYG treatment passes `priority=1` to `Queue.add`.
public enum JobPriorities {
    /// Plan weights, as in the seed.
    public static let weights: [Plan: Int] = [.free: 1, .pro: 5, .payg: 10]

    /// The largest weight; the highest-weight plan gets queue priority 1.
    public static var maxWeight: Int { weights.values.max() ?? 10 }

    /// Maps a plan weight (higher is sooner) to a queue priority (lower is sooner), at least 1.
    public static func queuePriority(forWeight weight: Int) -> Int {
        max(1, maxWeight + 1 - weight)
    }
}
