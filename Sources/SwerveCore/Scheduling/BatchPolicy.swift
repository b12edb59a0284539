/// How a model version's queue forms batches and treats waiting requests, from Triton's
/// `dynamic_batching` configuration.
public struct BatchPolicy: Sendable, Equatable {
    /// Whether requests may be merged along the batch dimension.
    public var batching: Bool
    /// The largest merged batch, in batch elements (rows), not requests.
    public var maxBatchSize: Int
    /// Batch sizes worth waiting for; a batch this large (the largest) runs at once.
    public var preferredBatchSizes: [Int]
    /// How long the oldest request may wait for others to join its batch.
    public var maxQueueDelay: Duration
    /// How long a request may wait in the queue before it is dropped (nil: no limit).
    public var defaultTimeout: Duration?
    /// Whether a request's `timeout` parameter may set its own queue timeout.
    public var allowTimeoutOverride: Bool
    /// Whether a timed-out request is failed (true) or kept waiting (Triton's DELAY).
    public var rejectOnTimeout: Bool

    /// The rows a merged batch grows to: the largest preferred size (capped at `maxBatchSize`),
    /// else `maxBatchSize`. A single larger request still runs, alone.
    public var mergeTarget: Int {
        preferredBatchSizes.last.map { min($0, maxBatchSize) } ?? maxBatchSize
    }

    /// A policy that runs each request on its own, first come first served.
    public static let unbatched = BatchPolicy(
        batching: false, maxBatchSize: 1, preferredBatchSizes: [], maxQueueDelay: .zero, defaultTimeout: nil,
        allowTimeoutOverride: false, rejectOnTimeout: true)

    /// Creates a policy.
    public init(
        batching: Bool, maxBatchSize: Int, preferredBatchSizes: [Int], maxQueueDelay: Duration, defaultTimeout: Duration?,
        allowTimeoutOverride: Bool, rejectOnTimeout: Bool
    ) {
        self.batching = batching
        self.maxBatchSize = maxBatchSize
        self.preferredBatchSizes = preferredBatchSizes
        self.maxQueueDelay = maxQueueDelay
        self.defaultTimeout = defaultTimeout
        self.allowTimeoutOverride = allowTimeoutOverride
        self.rejectOnTimeout = rejectOnTimeout
    }

    /// Reads the policy of a completed configuration.
    public init(_ config: Inference_ModelConfig) {
        let dynamic: Inference_ModelDynamicBatching?
        if case .dynamicBatching(let value)? = config.schedulingChoice { dynamic = value } else { dynamic = nil }
        let queuePolicy = dynamic?.defaultQueuePolicy
        let timeout = queuePolicy.map { $0.defaultTimeoutMicroseconds } ?? 0
        self.init(
            batching: dynamic != nil && config.maxBatchSize > 0,
            maxBatchSize: max(1, Int(config.maxBatchSize)),
            preferredBatchSizes: (dynamic?.preferredBatchSize ?? []).map(Int.init).filter { $0 > 0 }.sorted(),
            maxQueueDelay: .microseconds(Int64(clamping: dynamic?.maxQueueDelayMicroseconds ?? 0)),
            defaultTimeout: timeout > 0 ? .microseconds(Int64(clamping: timeout)) : nil,
            allowTimeoutOverride: queuePolicy?.allowTimeoutOverride ?? false,
            rejectOnTimeout: (queuePolicy?.timeoutAction ?? .reject) == .reject)
    }
}
