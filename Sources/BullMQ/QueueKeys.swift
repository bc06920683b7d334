/// The Redis keys of one queue: `<prefix>:<name>:<suffix>`.
public struct QueueKeys: Sendable {
    public let prefix: String
    public let name: String
    /// `bull:<name>:`, also the prefix of every job key.
    public let base: String

    public init(prefix: String = "bull", name: String) {
        self.prefix = prefix
        self.name = name
        base = "\(prefix):\(name):"
    }

    public var wait: String { base + "wait" }
    public var paused: String { base + "paused" }
    public var active: String { base + "active" }
    public var prioritized: String { base + "prioritized" }
    public var delayed: String { base + "delayed" }
    public var completed: String { base + "completed" }
    public var failed: String { base + "failed" }
    public var waitingChildren: String { base + "waiting-children" }
    public var marker: String { base + "marker" }
    public var meta: String { base + "meta" }
    public var events: String { base + "events" }
    public var stalled: String { base + "stalled" }
    public var stalledCheck: String { base + "stalled-check" }
    public var id: String { base + "id" }
    public var pc: String { base + "pc" }
    public var limiter: String { base + "limiter" }

    public func job(_ id: String) -> String { base + id }
    public func lock(_ id: String) -> String { base + id + ":lock" }

    /// The eleven keys the fetch scripts take, in their order.
    var fetchKeys: [String] {
        [wait, active, prioritized, events, stalled, limiter, delayed, paused, meta, pc, marker]
    }
}
