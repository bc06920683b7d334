import NIOCore
import NIOPosix

/// Runs Swift tasks on one NIO event loop thread.
///
/// A task that prefers this executor and talks to Redis over a connection on the same loop sends
/// and receives without waking another thread: the write happens in place and the reply resumes
/// the task on the loop that read it. Only for code that never blocks: it shares the loop's thread
/// with the connection's I/O.
public final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {
    /// The loop the tasks run on.
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
