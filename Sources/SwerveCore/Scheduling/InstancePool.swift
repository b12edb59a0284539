import DequeModule
import Foundation

/// The instances of one model version and the bounded queue that feeds them.
///
/// One worker thread per instance takes work from the queue, so slow inference never runs on an
/// event loop or in Swift's cooperative pool. A worker with a free instance asks ``BatchFormer``
/// what to do with the queue: run the oldest request (merged with compatible ones when the model
/// batches), wait for the batch to fill, or fail requests whose queue timeout passed. A full
/// queue refuses new work at once; a request cancelled while queued is removed and never runs.
///
/// Fast models skip the queue when it is empty: when an instance is free and the request would
/// run at once and alone anyway (no batching delay to wait for), and the version's recent
/// executions took less than ``inlineLimit``, the request runs on the calling thread. That saves
/// the two thread switches of a hand-over to a worker and back, which cost more than a tiny
/// model's whole execution; for a slow model the calling thread is never blocked.
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

    /// Executions shorter than this (a moving average) run on the calling thread when the queue
    /// is empty and an instance is free.
    static let inlineLimit: Duration = .microseconds(100)

    /// Where the pool is in its life. Transitions, each one way:
    /// - `serving` → `abandoned` (``abandonQueued()``: the server stops and waits no longer),
    /// - `serving` or `abandoned` → `retiring` (``shutdown()``: the version is unloaded or replaced).
    enum Phase: Equatable {
        /// Takes new requests.
        case serving
        /// Refuses new requests; the queue was failed; executions under way finish.
        case abandoned
        /// Refuses new requests; queued and running ones finish, then the workers exit.
        case retiring
    }

    private let condition = NSCondition()
    private var phase = Phase.serving

    /// Whether the pool has been told to stop (its version is being unloaded or replaced).
    var isRetiring: Bool {
        condition.withLock { phase == .retiring }
    }
    private var queue: Deque<Job> = []
    private var nextID: UInt64 = 0
    private var exitedWorkers = 0
    private var drained: [CheckedContinuation<Void, Never>] = []
    private let instances: [any ModelInstance]
    /// Indices of the instances no one is running.
    private var free: [Int]
    /// A moving average of recent executions (nanoseconds; `.max` before the first).
    private var recentExecutionNanoseconds = UInt64.max
    private let label: String
    /// The statistics of the version this pool runs.
    let statistics: StatisticsRecorder
    /// How requests are batched and timed out.
    let policy: BatchPolicy
    /// The most requests that may wait; more are refused with `unavailable`.
    let maxQueueSize: Int
    /// The time queueing, timeouts and batching delays are decided by.
    private let clock: any SchedulingClock

    /// Starts one worker thread per instance.
    init(
        instances: [any ModelInstance], maxQueueSize: Int, policy: BatchPolicy, label: String, statistics: StatisticsRecorder,
        clock: any SchedulingClock = SystemSchedulingClock()
    ) {
        precondition(!instances.isEmpty, "a model version needs at least one instance")
        self.clock = clock
        clock.register(condition)
        self.instances = instances
        self.maxQueueSize = maxQueueSize
        self.policy = policy
        self.label = label
        self.statistics = statistics
        free = Array(instances.indices.reversed())
        for index in instances.indices {
            let thread = Thread { [self] in
                Thread.current.name = "swerve-\(index)"  // set from outside, Linux's Foundation drops it
                self.work()
            }
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
        if let completed = try runInline(inputs: inputs, outputs: outputs, batchSize: batchSize, cancellation: cancellation) {
            return completed
        }
        let id: UInt64 = condition.withLock {
            nextID &+= 1
            return nextID
        }
        let now = clock.now
        let limit = policy.rejectOnTimeout ? ((policy.allowTimeoutOverride ? timeout : nil) ?? policy.defaultTimeout) : nil
        let item = BatchFormer.Item(
            batchSize: batchSize, key: BatchKey(inputs: inputs, outputs: outputs), enqueued: now, deadline: limit.map { now + $0 })
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                condition.lock()
                if phase != .serving {
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
                statistics.metrics.pending.increment()
                // With every instance busy no worker could act; the next release wakes one.
                if !free.isEmpty { condition.signal() }
                condition.unlock()
            }
        } onCancel: {
            cancelQueued(id)
        }
    }

    /// Runs the request on the calling thread if the queue is empty, an instance is free, the
    /// request would run alone at once anyway, and the model is fast; else returns nil.
    private func runInline(
        inputs: [NamedTensor], outputs: [String], batchSize: Int, cancellation: CancellationSignal?
    ) throws -> Completed? {
        condition.lock()
        guard phase == .serving, queue.isEmpty, isFast, !waitsForBatch(rows: batchSize),
              let index = free.popLast() else {
            condition.unlock()
            return nil
        }
        condition.unlock()
        if Task.isCancelled || cancellation?.isCancelled == true {
            release(index, executionNanoseconds: nil, wakeWorker: true)
            throw SwerveError(.cancelled, "request cancelled by the client")
        }
        let started = ContinuousClock.now
        var timings = RunTimings()
        let result = Result { try instances[index].run(inputs: inputs, outputs: outputs, timings: &timings) }
        let elapsed = (ContinuousClock.now - started).nanoseconds
        if case .success = result {
            statistics.recordExecution(batchSize: batchSize, requests: 1, timings: timings)
        }
        // Requests that queued meanwhile run here too, as a worker would run them, without
        // waking one (a few batches at most, so this caller's answer is not held up).
        for _ in 0..<Self.inlineFollowUps {
            guard let jobs = nextInlineBatch() else { break }
            run(jobs, on: instances[index])
        }
        release(index, executionNanoseconds: elapsed, wakeWorker: true)
        return Completed(outputs: try result.get(), queueNanoseconds: 0)
    }

    /// Batches a caller that ran inline takes from the queue before giving its instance back.
    private static let inlineFollowUps = 2

    /// The batch to run now, if the queue has one ready and the model is still fast.
    private func nextInlineBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        guard !queue.isEmpty, isFast else { return nil }
        if case .run(let positions) = BatchFormer.decide(queue.map(\.item), now: clock.now, policy: policy) {
            return take(positions)
        }
        return nil
    }

    /// Whether recent executions were short enough to run on a caller's thread. Call with
    /// `condition` locked.
    private var isFast: Bool {
        recentExecutionNanoseconds < UInt64(Self.inlineLimit.nanoseconds)
    }

    /// Whether a lone request of `rows` rows would wait in the queue for others to batch with.
    private func waitsForBatch(rows: Int) -> Bool {
        policy.batching && policy.maxQueueDelay > .zero && rows < policy.mergeTarget
    }

    /// Gives an instance back after a run and records how long the run took. A caller that ran
    /// inline (`wakeWorker`) wakes a worker if requests are queued; a worker goes on by itself.
    private func release(_ index: Int, executionNanoseconds: UInt64?, wakeWorker: Bool = false) {
        condition.lock()
        free.append(index)
        if let elapsed = executionNanoseconds {
            recentExecutionNanoseconds = recentExecutionNanoseconds == .max
                ? elapsed : (recentExecutionNanoseconds / 8) * 7 + elapsed / 8
        }
        if phase == .retiring {
            condition.broadcast()
        } else if wakeWorker, !queue.isEmpty {
            condition.signal()
        }
        resumeDrainedIfDone()
        condition.unlock()
    }

    /// Resumes ``shutdown()`` once every worker has exited and no instance is in use. Call with
    /// `condition` locked.
    private func resumeDrainedIfDone() {
        guard phase == .retiring, exitedWorkers == instances.count, free.count == instances.count, !drained.isEmpty else { return }
        let waiters = drained
        drained = []
        for waiter in waiters { waiter.resume() }
    }

    /// Removes the request `id` if it is still queued and fails it as cancelled; a request that
    /// already runs (or ran) is left alone.
    private func cancelQueued(_ id: UInt64) {
        condition.lock()
        let index = queue.firstIndex { $0.id == id }
        let job = index.map { queue.remove(at: $0) }
        if job != nil { statistics.metrics.pending.decrement() }
        condition.unlock()
        job?.continuation.resume(throwing: SwerveError(.cancelled, "request cancelled by the client before it ran"))
    }

    /// Refuses new requests and fails every queued one with `unavailable` (the server is
    /// stopping and will not wait for them any longer); executions under way finish.
    func abandonQueued() {
        condition.lock()
        if phase == .serving { phase = .abandoned }
        let abandoned = queue
        queue.removeAll()
        statistics.metrics.pending.decrement(by: Double(abandoned.count))
        condition.unlock()
        for job in abandoned {
            job.continuation.resume(throwing: SwerveError.unavailable("the server is shutting down; model \(label) will not run this request"))
        }
    }

    /// Stops taking requests, lets the queued and running ones finish, then stops the threads and
    /// releases the instances.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            phase = .retiring
            drained.append(continuation)
            resumeDrainedIfDone()
            condition.broadcast()
            condition.unlock()
        }
    }

    // MARK: - Workers

    private func work() {
        while let (batch, index) = nextBatch() {
            let started = ContinuousClock.now
            run(batch, on: instances[index])
            release(index, executionNanoseconds: (ContinuousClock.now - started).nanoseconds / UInt64(batch.count))
        }
    }

    /// Blocks until there is a batch to run and a free instance to run it on (which it takes), or
    /// returns nil when the pool stops and is empty.
    private func nextBatch() -> ([Job], Int)? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let now = clock.now
            switch BatchFormer.decide(queue.map(\.item), now: now, policy: policy) {
            case .idle:
                if phase == .retiring {
                    exitedWorkers += 1
                    resumeDrainedIfDone()
                    return nil
                }
                condition.wait()
            case .expire(let positions):
                for job in take(positions) {
                    let waited = now - job.item.enqueued
                    // Counted as a failure once, by InferencePipeline, which receives this error.
                    job.continuation.resume(
                        throwing: SwerveError(.deadlineExceeded, "request timed out after waiting \(waited.formatted(.units(allowed: [.milliseconds, .microseconds]))) in the queue of model \(label)"))
                }
            case .run(let positions):
                guard let index = free.popLast() else {
                    condition.wait()  // every instance runs a request on its caller's thread
                    continue
                }
                let jobs = take(positions)
                // More work and another free instance: hand it to another worker.
                if !queue.isEmpty, !free.isEmpty { condition.signal() }
                return (jobs, index)
            case .wait(let until):
                if phase == .retiring, let index = free.popLast() { return (take(Array(queue.indices.prefix(1))), index) }
                clock.wait(on: condition, until: until)
            }
        }
    }

    /// Removes the jobs at `positions` (ascending) from the queue, in queue order; they are no
    /// longer pending (Triton's pending count is the requests queued, not those executing).
    private func take(_ positions: [Int]) -> [Job] {
        let jobs = positions.map { queue[$0] }
        for position in positions.sorted(by: >) { queue.remove(at: position) }
        statistics.metrics.pending.decrement(by: Double(jobs.count))
        return jobs
    }

    private func run(_ jobs: [Job], on instance: any ModelInstance) {
        let started = clock.now
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
