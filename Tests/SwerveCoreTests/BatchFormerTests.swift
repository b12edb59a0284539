import SwerveCore
import Testing

struct BatchFormerTests {
    let t0 = ContinuousClock.now
    let key = BatchKey(inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, 4], data: []))], outputs: ["y"])
    let otherKey = BatchKey(inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, 8], data: []))], outputs: ["y"])

    func policy(max: Int = 8, delay: Duration = .zero, preferred: [Int] = []) -> BatchPolicy {
        BatchPolicy(batching: true, maxBatchSize: max, preferredBatchSizes: preferred, maxQueueDelay: delay, defaultTimeout: nil, allowTimeoutOverride: false, rejectOnTimeout: true)
    }

    func item(_ rows: Int, key: BatchKey? = nil, at offset: Duration = .zero, deadline: Duration? = nil) -> BatchFormer.Item {
        BatchFormer.Item(batchSize: rows, key: key ?? self.key, enqueued: t0 + offset, deadline: deadline.map { t0 + $0 })
    }

    /// Without delay, everything compatible that waits is merged at once, up to max rows.
    @Test func mergesWaitingRequestsUpToMaxRows() {
        let queue = [item(3), item(4), item(2), item(1)]
        #expect(BatchFormer.decide(queue, now: t0, policy: policy()) == .run([0, 1, 3]))
    }

    /// Requests with different non-batch shapes are never merged; the oldest still goes first.
    @Test func differentShapesAreNotMerged() {
        let queue = [item(1), item(1, key: otherKey), item(1)]
        #expect(BatchFormer.decide(queue, now: t0, policy: policy()) == .run([0, 2]))
        #expect(BatchFormer.decide(Array(queue.dropFirst()), now: t0, policy: policy()) == .run([0]))
    }

    /// With a queue delay, a small batch waits until its oldest request is ripe, then runs.
    @Test func delayWaitsForMoreRequests() {
        let queue = [item(1), item(1, at: .microseconds(10))]
        let p = policy(delay: .milliseconds(5))
        #expect(BatchFormer.decide(queue, now: t0 + .milliseconds(1), policy: p) == .wait(until: t0 + .milliseconds(5)))
        #expect(BatchFormer.decide(queue, now: t0 + .milliseconds(5), policy: p) == .run([0, 1]))
    }

    /// Merging stops at the largest preferred size; a larger single request still runs alone.
    @Test func mergingStopsAtThePreferredSize() {
        let queue = [item(2), item(2), item(2)]
        #expect(BatchFormer.decide(queue, now: t0, policy: policy(max: 8, preferred: [4])) == .run([0, 1]))
        #expect(BatchFormer.decide([item(6), item(1)], now: t0, policy: policy(max: 8, preferred: [4])) == .run([0]))
    }

    /// Reaching the largest preferred batch size runs at once, without waiting for the delay.
    @Test func preferredSizeRunsAtOnce() {
        let queue = [item(2), item(2)]
        #expect(BatchFormer.decide(queue, now: t0, policy: policy(delay: .seconds(1), preferred: [2, 4])) == .run([0, 1]))
    }

    /// Requests past their deadline are expired before any batch forms.
    @Test func expiredRequestsAreDroppedFirst() {
        let queue = [item(1, deadline: .milliseconds(1)), item(1)]
        #expect(BatchFormer.decide(queue, now: t0 + .milliseconds(2), policy: policy()) == .expire([0]))
    }

    /// An unbatched policy runs one request at a time, oldest first.
    @Test func unbatchedRunsOneAtATime() {
        #expect(BatchFormer.decide([item(1), item(1)], now: t0, policy: .unbatched) == .run([0]))
        #expect(BatchFormer.decide([], now: t0, policy: .unbatched) == .idle)
    }
}
