import NIOCore
import NIOPosix
import Synchronization

/// A task executor over the gRPC listener's event loops: a job enqueued on one of them runs on
/// that loop, any other job on the group's next loop.
///
/// The gRPC server runs with it as its task executor preference, so a stream's handler, which
/// grpc-swift resumes from the loop that read the stream's frames, runs on that loop and writes
/// its answer there, instead of waking a thread of Swift's cooperative pool for each message
/// and the loop again for each answer. Handlers with large requests move to the global executor
/// (``GRPCHandlerPlacement``); inference stays off the loops unless the model runs inline.
final class EventLoopGroupTaskExecutor: TaskExecutor {
    private let group: MultiThreadedEventLoopGroup
    /// The group's loops, to tell them from other groups' loops (the HTTP listeners').
    private let loops: Set<ObjectIdentifier>

    private init(group: MultiThreadedEventLoopGroup) {
        self.group = group
        self.loops = Set(group.makeIterator().map { ObjectIdentifier($0) })
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let loop = MultiThreadedEventLoopGroup.currentEventLoop.flatMap { loops.contains(ObjectIdentifier($0)) ? $0 : nil }
            ?? group.next()
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Every executor made so far, by group. Swift keeps a task's executor preference without
    /// retaining the executor, and a task made by a handler (`Task {}` inherits the preference)
    /// may outlive the server: an executor is therefore made once per group and kept for the life
    /// of the process.
    private static let made = Mutex<[ObjectIdentifier: EventLoopGroupTaskExecutor]>([:])

    /// The executor of `group`.
    static func of(_ group: MultiThreadedEventLoopGroup) -> EventLoopGroupTaskExecutor {
        made.withLock { made in
            if let executor = made[ObjectIdentifier(group)] { return executor }
            let executor = EventLoopGroupTaskExecutor(group: group)
            made[ObjectIdentifier(group)] = executor
            return executor
        }
    }
}
