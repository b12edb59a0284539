import DequeModule
import Foundation

/// The instances of one model version and the bounded queue that feeds them.
///
/// Each instance runs on a dedicated thread that takes requests first-come, first-served from one
/// shared queue, so inference never runs on an event loop or in Swift's cooperative pool. A full
/// queue refuses new work at once; a request cancelled while queued is removed and never runs.
final class InstancePool: @unchecked Sendable {
    // @unchecked: every mutable property below is read and written only while `condition` is locked.
    private struct Job {
        var id: UInt64
        var inputs: [NamedTensor]
        var outputs: [String]
        var enqueued: ContinuousClock.Instant
        var batchSize: Int
        var continuation: CheckedContinuation<Completed, any Error>
    }

    /// The outputs of a request and how long it waited for an instance.
    struct Completed: Sendable {
        var outputs: [NamedTensor]
        var queueNanoseconds: UInt64
    }

    private let condition = NSCondition()
    private var queue: Deque<Job> = []
    private var nextID: UInt64 = 0
    private var stopping = false
    private var running = 0
    private var exitedWorkers = 0
    private var drained: [CheckedContinuation<Void, Never>] = []
    private let instances: [any ModelInstance]
    private let label: String
    /// The statistics of the version this pool runs.
    let statistics: StatisticsRecorder

    /// The most requests that may wait; more are refused with `unavailable`.
    let maxQueueSize: Int

    /// Starts one worker thread per instance.
    init(instances: [any ModelInstance], maxQueueSize: Int, label: String, statistics: StatisticsRecorder) {
        precondition(!instances.isEmpty, "a model version needs at least one instance")
        self.instances = instances
        self.maxQueueSize = maxQueueSize
        self.label = label
        self.statistics = statistics
        for (index, instance) in instances.enumerated() {
            let thread = Thread { [self] in self.work(instance) }
            thread.name = "swerve-\(label)-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// The number of requests waiting for an instance.
    var queuedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    /// Queues a request and waits for its outputs.
    /// - Throws: `unavailable` when the queue is full or the pool is shutting down, `cancelled`
    ///   when the calling task is cancelled while the request waits, or the backend's error.
    func submit(inputs: [NamedTensor], outputs: [String], batchSize: Int) async throws -> Completed {
        let id: UInt64 = condition.withLock {
            nextID &+= 1
            return nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                condition.lock()
                if stopping {
                    condition.unlock()
                    continuation.resume(throwing: SwerveError.unavailable("model \(label) is unloading"))
                    return
                }
                if queue.count >= maxQueueSize {
                    condition.unlock()
                    continuation.resume(
                        throwing: SwerveError.unavailable(
                            "model \(label) is overloaded: its queue holds the maximum of \(maxQueueSize) requests; retry later"
                        ))
                    return
                }
                if Task.isCancelled {
                    condition.unlock()
                    continuation.resume(throwing: SwerveError(.cancelled, "request cancelled by the client"))
                    return
                }
                queue.append(
                    Job(id: id, inputs: inputs, outputs: outputs, enqueued: .now, batchSize: batchSize, continuation: continuation))
                condition.signal()
                condition.unlock()
            }
        } onCancel: {
            condition.lock()
            let index = queue.firstIndex { $0.id == id }
            let job = index.map { queue.remove(at: $0) }
            condition.unlock()
            job?.continuation.resume(throwing: SwerveError(.cancelled, "request cancelled by the client before it ran"))
        }
    }

    /// Stops taking requests, lets the queued and running ones finish, then stops the threads and
    /// releases the instances.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            stopping = true
            if exitedWorkers == instances.count {
                condition.unlock()
                continuation.resume()
                return
            }
            drained.append(continuation)
            condition.broadcast()
            condition.unlock()
        }
    }

    private func work(_ instance: any ModelInstance) {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping {
                condition.wait()
            }
            guard let job = queue.popFirst() else {
                exitedWorkers += 1
                let waiters = exitedWorkers == instances.count ? drained : []
                if !waiters.isEmpty { drained = [] }
                condition.unlock()
                for waiter in waiters { waiter.resume() }
                return
            }
            running += 1
            condition.unlock()

            let queued = (ContinuousClock.now - job.enqueued).nanoseconds
            var timings = RunTimings()
            let result = Result { try instance.run(inputs: job.inputs, outputs: job.outputs, timings: &timings) }
            if case .success = result {
                statistics.recordExecution(batchSize: job.batchSize, requests: 1, timings: timings)
            }
            job.continuation.resume(with: result.map { Completed(outputs: $0, queueNanoseconds: queued) })

            condition.lock()
            running -= 1
            condition.unlock()
        }
    }
}
