import Foundation
import NIOConcurrencyHelpers

/// Hands each value to every current listener (an in-process fan-out of `AsyncStream`s).
public final class Broadcast<Value: Sendable>: Sendable {
    private let listeners = NIOLockedValueBox([UUID: AsyncStream<Value>.Continuation]())

    public init() {}

    /// A stream of every value sent from now on.
    public func listen() -> AsyncStream<Value> {
        let (stream, continuation) = AsyncStream<Value>.makeStream()
        let id = UUID()
        listeners.withLockedValue { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.listeners.withLockedValue { $0.removeValue(forKey: id) }
        }
        return stream
    }

    /// Sends a value to every listener.
    public func send(_ value: Value) {
        for listener in listeners.withLockedValue({ Array($0.values) }) { listener.yield(value) }
    }

    /// Ends every stream.
    public func finish() {
        for listener in listeners.withLockedValue({ Array($0.values) }) { listener.finish() }
    }
}
