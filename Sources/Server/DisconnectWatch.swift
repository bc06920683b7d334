import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import WhisperAPICore

/// Calls `onDisconnect` once if the client goes away (closes its side of the connection, or the connection
/// closes) before `finish()`: the answer it was waiting for is no longer wanted.
final class DisconnectWatch: Sendable {
    private let finished = NIOLockedValueBox(false)
    private let channel: any Channel
    private let handler: InputClosedHandler

    init(channel: any Channel, onDisconnect: @escaping @Sendable () async -> Void) {
        let fire: @Sendable () -> Void = { [finished] in
            let first = finished.withLockedValue { done in
                defer { done = true }
                return !done
            }
            if first { Task { await onDisconnect() } }
        }
        self.channel = channel
        handler = InputClosedHandler(onInputClosed: fire)
        // First in the pipeline: the end of the client's input is seen however the handlers after it buffer.
        channel.pipeline.addHandler(handler, position: .first).whenFailure { _ in }
        channel.closeFuture.whenComplete { _ in fire() }
    }

    /// The answer is complete: a later close is a normal one.
    func finish() {
        finished.withLockedValue { $0 = true }
        channel.pipeline.removeHandler(handler, promise: nil)
    }

    /// Reports the end of the client's input and passes everything on unchanged.
    final class InputClosedHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
        typealias InboundIn = Any
        let onInputClosed: @Sendable () -> Void

        init(onInputClosed: @escaping @Sendable () -> Void) {
            self.onInputClosed = onInputClosed
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? ChannelEvent, event == .inputClosed { onInputClosed() }
            context.fireUserInboundEventTriggered(event)
        }
    }
}
