import DequeModule
import Foundation
import Synchronization

/// The instances of one model version and the bounded queue that feeds them.
///
/// Queued batches run on the process's shared ``ExecutionThreads``, never on an event loop or in
/// Swift's cooperative pool, and a pool with nothing queued holds no thread: hundreds of loaded models
/// cost threads only while they have work. When a request is queued and an instance is free, the
/// pool asks the executor for a step, and the step asks ``BatchFormer`` what to do with the
/// queue: run the oldest request (merged with compatible ones when the model batches), wait for
/// the batch to fill, or fail requests whose queue timeout passed. Waiting for a batch to fill
/// holds no thread either: the pool sets a timer with the executor for the end of the batching
/// delay and decides again when it fires, or sooner when a request arrives that fills the batch.
/// A full queue refuses new work at once; a request cancelled while queued is removed and never
/// runs.
///
/// Fast models skip the queue when it is empty: when an instance is free and the request would
/// run at once and alone anyway (no batching delay to wait for), and the version's recent
/// executions took less than ``inlineLimit``, the request runs on the calling thread. That saves
/// the two thread switches of a hand-over to an executor thread and back, which cost more than a
/// tiny model's whole execution; for a slow model the calling thread is never blocked. The
/// calling thread is often an event loop (the frontends handle small requests on the loop that
/// read them), which a run under the limit holds no longer than decoding the request did.
///
/// What a memory manager needs to unload models no one uses: ``lastUsedTick`` orders pools by
/// their last request, ``retireIfIdle()`` retires a pool only while it has nothing to do, and a
/// pool that has drained (``isDrained``) no longer holds its instances.
///
/// Locks: the pool never calls the executor while holding its lock (it asks after unlocking).
final class InstancePool: ExecutionWork, @unchecked Sendable {
    // @unchecked: every mutable property below is read and written only while `lock` is held.
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

    /// The default ``inlineLimit``.
    static let defaultInlineLimit: Duration = .microseconds(100)

    /// Executions shorter than this (a moving average) run on the calling thread when the queue
    /// is empty and an instance is free.
    let inlineLimit: Duration

    /// Where the pool is in its life. Transitions, each one way:
    /// - `serving` → `abandoned` (``abandonQueued()``: the server stops and waits no longer),
    /// - `serving` or `abandoned` → `retiring` (``shutdown()``, or ``retireIfIdle()`` while
    ///   idle: the version is unloaded or replaced).
    enum Phase: Equatable {
        /// Takes new requests.
        case serving
        /// Refuses new requests; the queue was failed; executions under way finish.
        case abandoned
        /// Refuses new requests; queued and running ones finish, then the instances are released.
        case retiring
    }

    /// What the pool asks of the executor after its queue or its free instances changed.
    private enum Request {
        /// A step as soon as a thread is free.
        case step
        /// A step when the scheduling clock reaches this instant (the end of a batching delay).
        case timer(ContinuousClock.Instant)
    }

    /// Orders uses across all pools; see ``lastUsedTick``.
    private static let useCounter = Atomic<UInt64>(0)

    private let lock = NSLock()
    private var phase = Phase.serving

    /// Whether the pool has been told to stop (its version is being unloaded or replaced).
    var isRetiring: Bool {
        lock.withLock { phase == .retiring }
    }
    private var queue: Deque<Job> = []
    private var nextID: UInt64 = 0
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    /// The instances, until the pool has drained.
    private var instances: [any ModelInstance]
    private let instanceCount: Int
    /// Set once the pool has drained and starts releasing its instances.
    private var draining = false
    /// Set once the instances are released (``isDrained``).
    private var drained = false
    /// Indices of the instances no one is running.
    private var free: [Int]
    /// Steps asked of the executor that have not started.
    private var stepsRequested = 0
    /// The scheduling-clock instant of the earliest timer set with the executor that has not
    /// come yet (a batch waits for its delay to end).
    private var timerDeadline: ContinuousClock.Instant?
    /// A moving average of recent executions (nanoseconds; `.max` before the first).
    private var recentExecutionNanoseconds = UInt64.max
    private let lastUse = Atomic<UInt64>(0)
    private let label: String
    /// The statistics of the version this pool runs.
    let statistics: StatisticsRecorder
    /// How requests are batched and timed out.
    let policy: BatchPolicy
    /// The most requests that may wait; more are refused with `unavailable`.
    let maxQueueSize: Int
    /// The time queueing, timeouts and batching delays are decided by.
    private let clock: any SchedulingClock
    /// The threads the pool's batches run on.
    private let executor: ExecutionThreads

    /// Creates a pool; it holds no thread until requests are queued.
    init(
        instances: [any ModelInstance], maxQueueSize: Int, policy: BatchPolicy, label: String, statistics: StatisticsRecorder,
        clock: any SchedulingClock = SystemSchedulingClock(), executor: ExecutionThreads = .shared,
        inlineLimit: Duration = InstancePool.defaultInlineLimit
    ) {
        precondition(!instances.isEmpty, "a model version needs at least one instance")
        self.clock = clock
        self.inlineLimit = inlineLimit
        self.executor = executor
        executor.follow(clock)
        self.instances = instances
        instanceCount = instances.count
        self.maxQueueSize = maxQueueSize
        self.policy = policy
        self.label = label
        self.statistics = statistics
        free = Array(instances.indices.reversed())
        // A new pool counts as used now: the version a request is waiting for is not the first
        // the memory budget evicts before that request reaches it.
        lastUse.store(Self.useCounter.add(1, ordering: .relaxed).newValue, ordering: .relaxed)
    }

    /// When the pool was made or last asked to run a request, on a counter shared by every pool
    /// of the process: a pool with a smaller tick was used less recently.
    var lastUsedTick: UInt64 {
        lastUse.load(ordering: .relaxed)
    }

    /// Whether the pool serves and has nothing to do: nothing queued, no instance running.
    var isIdle: Bool {
        lock.withLock { phase == .serving && queue.isEmpty && free.count == instanceCount }
    }

    /// Whether the pool has retired, finished every request and released its instances.
    var isDrained: Bool {
        lock.withLock { drained }
    }

    /// The number of requests waiting for an instance.
    var queuedCount: Int {
        lock.withLock { queue.count }
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
        let tick = Self.useCounter.add(1, ordering: .relaxed).newValue
        lastUse.max(tick, ordering: .relaxed)
        if let completed = try runInline(inputs: inputs, outputs: outputs, batchSize: batchSize, cancellation: cancellation) {
            return completed
        }
        let id: UInt64 = lock.withLock {
            nextID &+= 1
            return nextID
        }
        let now = clock.now
        let limit = policy.rejectOnTimeout ? ((policy.allowTimeoutOverride ? timeout : nil) ?? policy.defaultTimeout) : nil
        let item = BatchFormer.Item(
            batchSize: batchSize, key: BatchKey(inputs: inputs, outputs: outputs), enqueued: now, deadline: limit.map { now + $0 })
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lock.lock()
                if phase != .serving {
                    lock.unlock()
                    continuation.resume(throwing: SwerveError.unavailable("model \(label) is unloading"))
                    return
                }
                if queue.count >= maxQueueSize {
                    lock.unlock()
                    continuation.resume(
                        throwing: SwerveError.unavailable(
                            "model \(label) is overloaded: its queue holds the maximum of \(maxQueueSize) requests; retry later"))
                    return
                }
                if Task.isCancelled || cancellation.map({ !$0.onCancel { [self] in cancelQueued(id) } }) == true {
                    lock.unlock()
                    continuation.resume(throwing: SwerveError(.cancelled, "request cancelled by the client"))
                    return
                }
                queue.append(Job(id: id, inputs: inputs, outputs: outputs, item: item, continuation: continuation))
                statistics.metrics.pending.increment()
                let request = nextRequest()
                lock.unlock()
                ask(request)
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
        lock.lock()
        guard phase == .serving, queue.isEmpty, isFast, !waitsForBatch(rows: batchSize),
              let index = free.popLast() else {
            lock.unlock()
            return nil
        }
        lock.unlock()
        statistics.recordQueueWait(nanoseconds: 0)
        if Task.isCancelled || cancellation?.isCancelled == true {
            ask(release(index, executionNanoseconds: nil))
            throw SwerveError(.cancelled, "request cancelled by the client")
        }
        let (result, elapsed) = runAlone(inputs: inputs, outputs: outputs, batchSize: batchSize, on: index)
        // Given back only now that this thread holds no reference to the instance, so a drain
        // that this release completes frees it at once.
        ask(release(index, executionNanoseconds: elapsed))
        return Completed(outputs: try result.get(), queueNanoseconds: 0)
    }

    /// Runs a request, then the batches that queued meanwhile, on instance `index`, which the
    /// calling thread has taken; returns the request's result and how long it ran.
    private func runAlone(
        inputs: [NamedTensor], outputs: [String], batchSize: Int, on index: Int
    ) -> (Result<[NamedTensor], any Error>, UInt64) {
        let instance = lock.withLock { instances[index] }
        let started = ContinuousClock.now
        var timings = RunTimings()
        let result = Result { try instance.run(inputs: inputs, outputs: outputs, timings: &timings) }
        let elapsed = (ContinuousClock.now - started).nanoseconds
        if case .success = result {
            statistics.recordExecution(batchSize: batchSize, requests: 1, timings: timings)
        }
        // Requests that queued meanwhile run here too, as an executor thread would run them,
        // without a hand-over (a few batches at most, so this caller's answer is not held up).
        for _ in 0..<Self.inlineFollowUps {
            guard let jobs = nextInlineBatch() else { break }
            run(jobs, on: instance)
        }
        return (result, elapsed)
    }

    /// Batches a caller that ran inline takes from the queue before giving its instance back.
    private static let inlineFollowUps = 2

    /// The batch to run now, if the queue has one ready and the model is still fast.
    private func nextInlineBatch() -> [Job]? {
        lock.lock()
        defer { lock.unlock() }
        guard !queue.isEmpty, isFast else { return nil }
        if case .run(let positions) = BatchFormer.decide(queue.map(\.item), now: clock.now, policy: policy) {
            return take(positions)
        }
        return nil
    }

    /// Whether recent executions were short enough to run on a caller's thread. Call with
    /// `lock` held.
    private var isFast: Bool {
        recentExecutionNanoseconds < UInt64(inlineLimit.nanoseconds)
    }

    /// Whether a lone request of `rows` rows would wait in the queue for others to batch with.
    private func waitsForBatch(rows: Int) -> Bool {
        policy.batching && policy.maxQueueDelay > .zero && rows < policy.mergeTarget
    }

    /// Gives an instance back after a run and records how long the run took; returns what to ask
    /// of the executor for the requests still queued.
    private func release(_ index: Int, executionNanoseconds: UInt64?) -> Request? {
        lock.lock()
        free.append(index)
        if let elapsed = executionNanoseconds {
            recentExecutionNanoseconds = recentExecutionNanoseconds == .max
                ? elapsed : (recentExecutionNanoseconds / 8) * 7 + elapsed / 8
        }
        let request = nextRequest()
        let drains = startsDrain()
        lock.unlock()
        if drains { finishDrain() }
        return request
    }

    /// Decides whether the executor must be asked for a step or a timer, now that the queue or
    /// the free instances changed, and records the step asked for. Call with `lock` held, and
    /// pass the answer to ``ask(_:)`` once it is released.
    ///
    /// A step is asked for while fewer steps are pending than there are queued requests and free
    /// instances (each may start a batch), so a burst reaches every free instance at once. While
    /// a batch waits out its batching delay, a new request asks for a step only if it makes the
    /// batch ready (or an earlier timer, for a shorter queue timeout), not one wake-up each.
    private func nextRequest() -> Request? {
        guard stepsRequested < min(queue.count, free.count) else { return nil }
        if let armed = timerDeadline, phase != .retiring,
           case .wait(let until) = BatchFormer.decide(queue.map(\.item), now: clock.now, policy: policy) {
            guard until < armed else { return nil }
            timerDeadline = until
            return .timer(until)
        }
        stepsRequested += 1
        return .step
    }

    /// Asks the executor for what ``nextRequest()`` decided. Call with `lock` released.
    private func ask(_ request: Request?) {
        switch request {
        case .step: executor.schedule(self)
        case .timer(let deadline): executor.schedule(self, at: deadline, on: clock)
        case nil: break
        }
    }

    /// Whether the pool has just drained: it retires with nothing queued or running, and no one
    /// has started releasing its instances. Call with `lock` held; if true, call
    /// ``finishDrain()`` once it is released, so no backend session is freed under the lock.
    private func startsDrain() -> Bool {
        guard phase == .retiring, !draining, queue.isEmpty, free.count == instanceCount else { return false }
        draining = true
        return true
    }

    /// Drops the pool's references to its instances, which frees them, then marks the pool
    /// drained and resumes the callers of ``shutdown()``.
    private func finishDrain() {
        releaseInstances()
        let waiters = lock.withLock {
            drained = true
            defer { drainWaiters = [] }
            return drainWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func releaseInstances() {
        let released = lock.withLock {
            defer { instances = [] }
            return instances
        }
        _ = released  // the last references, dropped when this returns
    }

    /// Removes the request `id` if it is still queued and fails it as cancelled; a request that
    /// already runs (or ran) is left alone.
    private func cancelQueued(_ id: UInt64) {
        lock.lock()
        let index = queue.firstIndex { $0.id == id }
        let job = index.map { queue.remove(at: $0) }
        if job != nil { statistics.metrics.pending.decrement() }
        let drains = startsDrain()
        lock.unlock()
        if drains { finishDrain() }
        if let job { statistics.recordQueueWait(nanoseconds: (clock.now - job.item.enqueued).nanoseconds) }
        job?.continuation.resume(throwing: SwerveError(.cancelled, "request cancelled by the client before it ran"))
    }

    /// Refuses new requests and fails every queued one with `unavailable` (the server is
    /// stopping and will not wait for them any longer); executions under way finish.
    func abandonQueued() {
        lock.lock()
        if phase == .serving { phase = .abandoned }
        let abandoned = queue
        queue.removeAll()
        statistics.metrics.pending.decrement(by: Double(abandoned.count))
        let drains = startsDrain()
        lock.unlock()
        if drains { finishDrain() }
        let now = clock.now
        for job in abandoned {
            statistics.recordQueueWait(nanoseconds: (now - job.item.enqueued).nanoseconds)
            job.continuation.resume(throwing: SwerveError.unavailable("the server is shutting down; model \(label) will not run this request"))
        }
    }

    /// Retires the pool if it serves and has nothing to do (nothing queued, no instance
    /// running): later requests are refused as unloading, and the instances are released before
    /// this returns. Checked and done under the pool's lock, so no request slips in between.
    /// - Returns: whether the pool retired; if not, nothing changed.
    func retireIfIdle() -> Bool {
        lock.lock()
        guard phase == .serving, queue.isEmpty, free.count == instanceCount else {
            lock.unlock()
            return false
        }
        phase = .retiring
        let drains = startsDrain()
        lock.unlock()
        if drains { finishDrain() }
        return true
    }

    /// Stops taking requests, lets the queued and running ones finish, then releases the
    /// instances; returns once they are released.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            phase = .retiring
            if drained {
                lock.unlock()
                continuation.resume()
                return
            }
            drainWaiters.append(continuation)
            // A batch waiting out its delay runs now.
            let request = nextRequest()
            let drains = startsDrain()
            lock.unlock()
            if drains { finishDrain() }
            ask(request)
        }
    }

    // MARK: - Executor steps

    /// Runs one batch, if the queue has one ready and an instance is free: called on an executor
    /// thread. Returns whether another step is due at once.
    func executeStep(timerFired: Bool) -> Bool {
        lock.lock()
        if !timerFired { stepsRequested -= 1 }
        if let armed = timerDeadline, clock.now >= armed { timerDeadline = nil }  // its timer fired, or is about to
        var expired: [Job] = []
        let step = nextStep(expiring: &expired)
        var another: Request?
        var drains = false
        switch step {
        case .run: another = nextRequest()  // more work and another free instance: a step on another thread
        case .wait(let deadline): another = deadline.map { .timer($0) }
        case .nothing: drains = startsDrain()
        }
        lock.unlock()
        if drains { finishDrain() }
        fail(expired)
        ask(another)
        guard case .run(let jobs, let index) = step else { return false }
        let started = ContinuousClock.now
        run(jobs, on: index)
        // Given back only now that this thread holds no reference to the instance, so a drain
        // that this release completes frees it at once.
        switch release(index, executionNanoseconds: (ContinuousClock.now - started).nanoseconds / UInt64(jobs.count)) {
        case .step: return true
        case let request: ask(request); return false
        }
    }

    /// What a step does.
    private enum Step {
        /// Run these jobs as one batch on this instance, which the step has taken.
        case run([Job], Int)
        /// A batch waits for its batching delay; a timer for this instant is to be set, unless
        /// nil (an earlier one is set).
        case wait(ContinuousClock.Instant?)
        /// Nothing to run: no request, or no free instance (its release asks for a step).
        case nothing
    }

    /// Decides the step: takes the batch to run now and a free instance to run it on, after
    /// taking the expired requests into `expired`. Call with `lock` held.
    private func nextStep(expiring expired: inout [Job]) -> Step {
        while true {
            let now = clock.now
            switch BatchFormer.decide(queue.map(\.item), now: now, policy: policy) {
            case .idle:
                return .nothing
            case .expire(let positions):
                expired += take(positions)
            case .run(let positions):
                guard let index = free.popLast() else { return .nothing }
                return .run(take(positions), index)
            case .wait(let until):
                guard !free.isEmpty else { return .nothing }
                if phase == .retiring {
                    return .run(take(Array(queue.indices.prefix(1))), free.popLast()!)
                }
                guard timerDeadline.map({ until < $0 }) ?? true else { return .wait(nil) }
                timerDeadline = until
                return .wait(until)
            }
        }
    }

    /// Fails requests whose queue timeout passed.
    private func fail(_ expired: [Job]) {
        let now = clock.now
        for job in expired {
            let waited = now - job.item.enqueued
            statistics.recordQueueWait(nanoseconds: waited.nanoseconds)
            // Counted as a failure once, by InferencePipeline, which receives this error.
            job.continuation.resume(
                throwing: SwerveError(.deadlineExceeded, "request timed out after waiting \(waited.formatted(.units(allowed: [.milliseconds, .microseconds]))) in the queue of model \(label)"))
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

    /// Runs `jobs` as one batch on instance `index` and answers them.
    private func run(_ jobs: [Job], on index: Int) {
        run(jobs, on: lock.withLock { instances[index] })
    }

    private func run(_ jobs: [Job], on instance: any ModelInstance) {
        let started = clock.now
        let waits = jobs.map { (started - $0.item.enqueued).nanoseconds }
        for wait in waits { statistics.recordQueueWait(nanoseconds: wait) }
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
            for ((job, outputs), wait) in zip(zip(jobs, perRequest), waits) {
                job.continuation.resume(returning: Completed(outputs: outputs, queueNanoseconds: wait))
            }
        case .failure(let error):
            for job in jobs { job.continuation.resume(throwing: error) }
        }
    }
}
