import NIOCore
import Synchronization

/// A task executor whose jobs run on one SwiftNIO event loop.
///
/// A connection's task that prefers it (``EventLoopPinnedChannel``) reads the request, runs the
/// handler and writes the answer on the thread that does the connection's I/O, instead of
/// waking a thread of Swift's cooperative pool for each request and the event loop again for each
/// answer: those two hand-overs were the largest part of a tiny request's cost. A job enqueued
/// from the event loop itself joins the loop's task queue without waking it.
final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop that runs every job.
    let eventLoop: any EventLoop

    private init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Every executor made so far, by loop. Swift keeps a task's executor preference without
    /// retaining the executor, and a task made inside a connection's scope (`Task {}` inherits the
    /// preference) may outlive the connection: an executor is therefore made once per loop and
    /// kept for the life of the process.
    private static let made = Mutex<[ObjectIdentifier: EventLoopTaskExecutor]>([:])

    /// The executor of `eventLoop`.
    static func of(_ eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        made.withLock { made in
            if let executor = made[ObjectIdentifier(eventLoop)] { return executor }
            let executor = EventLoopTaskExecutor(eventLoop)
            made[ObjectIdentifier(eventLoop)] = executor
            return executor
        }
    }
}
