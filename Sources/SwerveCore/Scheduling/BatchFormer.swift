/// Decides, from what waits in a queue and the time, what a free instance does next: drop
/// expired requests, run a batch, wait for more requests, or sleep. A pure function of its
/// inputs, so the batching rules are tested without threads or sleeping.
///
/// Rules: requests run first come, first served; the oldest waiting request heads the next batch,
/// and later requests join it only when their non-batch shapes, types and outputs match and the
/// batch stays within the largest preferred batch size (else `maxBatchSize`) rows. A batch runs at once when it reaches the largest
/// preferred size (or `maxBatchSize`), when no delay is configured, or when its oldest request
/// has waited `maxQueueDelay`.
public enum BatchFormer {
    /// What the former needs to know about one waiting request.
    public struct Item: Sendable, Equatable {
        /// Rows this request contributes (its batch dimension; 1 for unbatched models).
        public var batchSize: Int
        /// Requests with equal keys may share a batch.
        public var key: BatchKey
        /// When it was queued.
        public var enqueued: ContinuousClock.Instant
        /// When it must have started, if it has a queue timeout.
        public var deadline: ContinuousClock.Instant?

        /// Creates an item.
        public init(batchSize: Int, key: BatchKey, enqueued: ContinuousClock.Instant, deadline: ContinuousClock.Instant? = nil) {
            self.batchSize = batchSize
            self.key = key
            self.enqueued = enqueued
            self.deadline = deadline
        }
    }

    /// The next step for a free instance.
    public enum Decision: Sendable, Equatable {
        /// Nothing waits.
        case idle
        /// These requests (queue positions) passed their deadline: fail them.
        case expire([Int])
        /// Run these requests (queue positions, oldest first) as one batch.
        case run([Int])
        /// Wait for more requests until this instant, then decide again.
        case wait(until: ContinuousClock.Instant)
    }

    /// Decides what to do with `queue` (oldest first) at `now`.
    public static func decide(_ queue: [Item], now: ContinuousClock.Instant, policy: BatchPolicy) -> Decision {
        let expired = queue.indices.filter { queue[$0].deadline.map { $0 <= now } ?? false }
        if !expired.isEmpty { return .expire(expired) }
        guard let head = queue.first else { return .idle }
        guard policy.batching else { return .run([0]) }

        let target = policy.mergeTarget
        var chosen = [0]
        var rows = head.batchSize
        for index in queue.indices.dropFirst() where queue[index].key == head.key {
            guard rows + queue[index].batchSize <= target else { continue }
            chosen.append(index)
            rows += queue[index].batchSize
            if rows == target { break }
        }
        let ripe = head.enqueued + policy.maxQueueDelay
        if rows >= target || policy.maxQueueDelay == .zero || ripe <= now {
            return .run(chosen)
        }
        if let soonestDeadline = queue.compactMap(\.deadline).min(), soonestDeadline < ripe {
            return .wait(until: soonestDeadline)
        }
        return .wait(until: ripe)
    }
}

/// What must match for requests to share a batch: each input's name, type and shape without its
/// batch dimension, and the outputs asked for.
public struct BatchKey: Sendable, Hashable {
    var inputs: [String]
    var outputs: [String]

    /// Builds the key of a request.
    public init(inputs: [NamedTensor], outputs: [String]) {
        self.inputs = inputs.sorted { $0.name < $1.name }.map {
            "\($0.name):\($0.tensor.dataType.rawValue):\($0.tensor.shape.dropFirst().map(String.init).joined(separator: "x"))"
        }
        self.outputs = outputs
    }
}
