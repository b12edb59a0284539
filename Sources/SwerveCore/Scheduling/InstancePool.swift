import DequeModule
import Foundation

/// The instances of one model version and the bounded queue that feeds them.
///
/// Each instance runs on a dedicated thread, so inference never runs on an event loop or in
/// Swift's cooperative pool. A free instance asks ``BatchFormer`` what to do with the queue: run
/// the oldest request (merged with compatible ones when the model batches), wait for the batch
/// to fill, or fail requests whose queue timeout passed. A full queue refuses new work at once;
/// a request cancelled while queued is removed and never runs.
final class InstancePool: @unchecked Sendable {
    // @unchecked: every mutable property below is read and written only while `condition` is locked.
    private struct Job {
        var id: UInt64
        var inputs: [NamedTensor]
        var outputs: [String]
        var item: BatchFormer.Item
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
    private var exitedWorkers = 0
    private var drained: [CheckedContinuation<Void, Never>] = []
    private let instances: [any ModelInstance]
    private let label: String
    /// The statistics of the version this pool runs.
    let statistics: StatisticsRecorder
    /// How requests are batched and timed out.
    let policy: BatchPolicy
    /// The most requests that may wait; more are refused with `unavailable`.
    let maxQueueSize: Int

    /// Starts one worker thread per instance.
    init(instances: [any ModelInstance], maxQueueSize: Int, policy: BatchPolicy, label: String, statistics: StatisticsRecorder) {
        precondition(!instances.isEmpty, "a model version needs at least one instance")
        self.instances = instances
        self.maxQueueSize = maxQueueSize
        self.policy = policy
        self.label = label
        self.statistics = statistics
        for (index, instance) in instances.enumerated() {
            let thread = Thread { [self] in self.work(instance) }
            thread.name = "swerve-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// The number of requests waiting for an instance.
    var queuedCount: Int {
        condition.withLock { queue.count }
    }

    /// Queues a request and waits for its outputs.
    /// - Parameters:
    ///   - batchSize: the request's rows (its first dimension when the model batches, else 1).
    ///   - timeout: the request's own queue timeout, used when the policy allows overrides.
    ///   - cancellation: a signal from outside the task tree (an HTTP client that disconnected)
    ///     that removes the request from the queue like task cancellation does.
    /// - Throws: `unavailable` when the queue is full or the pool is shutting down, `cancelled`
    ///   when the calling task is cancelled (or `cancellation` fires) while the request waits,
    ///   `deadlineExceeded` when its queue timeout passes first, or the backend's error.
    func submit(
        inputs: [NamedTensor], outputs: [String], batchSize: Int, timeout: Duration? = nil, cancellation: CancellationSignal? = nil
    ) async throws -> Completed {
        let id: UInt64 = condition.withLock {
            nextID &+= 1
            return nextID
        }
        let now = ContinuousClock.now
        let limit = policy.rejectOnTimeout ? ((policy.allowTimeoutOverride ? timeout : nil) ?? policy.defaultTimeout) : nil
        let item = BatchFormer.Item(
            batchSize: batchSize, key: BatchKey(inputs: inputs, outputs: outputs), enqueued: now, deadline: limit.map { now + $0 })
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
                            "model \(label) is overloaded: its queue holds the maximum of \(maxQueueSize) requests; retry later"))
                    return
                }
                if Task.isCancelled || cancellation.map({ !$0.onCancel { [self] in cancelQueued(id) } }) == true {
                    condition.unlock()
                    continuation.resume(throwing: SwerveError(.cancelled, "request cancelled by the client"))
                    return
                }
                queue.append(Job(id: id, inputs: inputs, outputs: outputs, item: item, continuation: continuation))
                condition.signal()
                condition.unlock()
            }
        } onCancel: {
            cancelQueued(id)
        }
    }

    /// Removes the request `id` if it is still queued and fails it as cancelled; a request that
    /// already runs (or ran) is left alone.
    private func cancelQueued(_ id: UInt64) {
        condition.lock()
        let index = queue.firstIndex { $0.id == id }
        let job = index.map { queue.remove(at: $0) }
        condition.unlock()
        job?.continuation.resume(throwing: SwerveError(.cancelled, "request cancelled by the client before it ran"))
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

    // MARK: - Workers

    private func work(_ instance: any ModelInstance) {
        while let batch = nextBatch() {
            run(batch, on: instance)
        }
    }

    /// Blocks until there is a batch to run, or returns nil when the pool stops and is empty.
    private func nextBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let now = ContinuousClock.now
            switch BatchFormer.decide(queue.map(\.item), now: now, policy: policy) {
            case .idle:
                if stopping {
                    exitedWorkers += 1
                    if exitedWorkers == instances.count {
                        let waiters = drained
                        drained = []
                        for waiter in waiters { waiter.resume() }
                    }
                    return nil
                }
                condition.wait()
            case .expire(let positions):
                for job in take(positions) {
                    let waited = now - job.item.enqueued
                    statistics.recordRequest(success: false, totalNanoseconds: waited.nanoseconds, queueNanoseconds: waited.nanoseconds)
                    job.continuation.resume(
                        throwing: SwerveError(.deadlineExceeded, "request timed out after waiting \(waited.formatted(.units(allowed: [.milliseconds, .microseconds]))) in the queue of model \(label)"))
                }
            case .run(let positions):
                return take(positions)
            case .wait(let until):
                if stopping { return take(Array(queue.indices.prefix(1))) }
                let remaining = now.duration(to: until)
                let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) * 1e-18
                _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            }
        }
    }

    /// Removes the jobs at `positions` (ascending) from the queue, in queue order.
    private func take(_ positions: [Int]) -> [Job] {
        let jobs = positions.map { queue[$0] }
        for position in positions.sorted(by: >) { queue.remove(at: position) }
        return jobs
    }

    private func run(_ jobs: [Job], on instance: any ModelInstance) {
        let started = ContinuousClock.now
        let batchSizes = jobs.map(\.item.batchSize)
        var timings = RunTimings()
        let result = Result { () throws -> [[NamedTensor]] in
            let inputs = BatchAssembler.merge(jobs.map(\.inputs))
            let outputs = try instance.run(inputs: inputs, outputs: jobs[0].outputs, timings: &timings)
            return try BatchAssembler.split(outputs, batchSizes: batchSizes)
        }
        switch result {
        case .success(let perRequest):
            statistics.recordExecution(batchSize: batchSizes.reduce(0, +), requests: jobs.count, timings: timings)
            for (job, outputs) in zip(jobs, perRequest) {
                job.continuation.resume(returning: Completed(outputs: outputs, queueNanoseconds: (started - job.item.enqueued).nanoseconds))
            }
        case .failure(let error):
            for job in jobs { job.continuation.resume(throwing: error) }
        }
    }
}
