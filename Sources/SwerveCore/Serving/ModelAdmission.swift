import Synchronization

/// Decides whether a model version takes one more request: at most
/// ``ModelLimits/maxInflightRequests`` at once, and no faster than its rate limit (a
/// ``TokenBucket``). A refused request gets `tooManyRequests` (HTTP 429 with `Retry-After`, gRPC
/// RESOURCE_EXHAUSTED) before any work is done for it.
///
/// Every admitted request is counted until ``leave()``; ``InferencePipeline`` calls ``enter()``
/// and ``leave()`` around the whole request. Neither waits nor allocates: the count is an atomic
/// and the bucket's lock is held for a few arithmetic operations.
public final class ModelAdmission: Sendable {
    /// The limits applied.
    public let limits: ModelLimits
    /// How the model is named in refusals (`'resnet' version 1`).
    let label: String
    private let inFlight = Atomic<Int>(0)
    private let bucket: TokenBucket?

    /// Creates the admission of one model version.
    /// - Parameters:
    ///   - limits: the version's limits.
    ///   - label: the model's name in messages.
    ///   - clock: the time the rate limit refills by.
    public init(limits: ModelLimits, label: String, clock: any SchedulingClock = SystemSchedulingClock()) {
        self.limits = limits
        self.label = label
        self.bucket = limits.maxRequestsPerSecond > 0
            ? TokenBucket(rate: min(limits.maxRequestsPerSecond, ModelLimits.rateRange.upperBound), burst: limits.effectiveBurst, clock: clock)
            : nil
    }

    /// The requests admitted and not yet answered.
    public var inFlightCount: Int { inFlight.load(ordering: .relaxed) }

    /// Admits one request, which must be followed by one ``leave()``.
    /// - Throws: `tooManyRequests` with ``SwerveError/retryAfter`` set when the version holds its
    ///   maximum of requests, or its rate limit has no token left; nothing is counted then.
    public func enter() throws(SwerveError) {
        let maxInflight = limits.maxInflightRequests
        if maxInflight > 0 {
            let held = inFlight.wrappingAdd(1, ordering: .relaxed).newValue
            if held > maxInflight {
                inFlight.wrappingSubtract(1, ordering: .relaxed)
                var error = SwerveError(
                    .tooManyRequests,
                    "model \(label) has the maximum of \(maxInflight) requests in flight (--model-max-inflight-requests or the model's '\(ModelLimits.inflightParameter)' parameter); retry later")
                error.retryAfter = .seconds(1)
                throw error
            }
        } else {
            inFlight.wrappingAdd(1, ordering: .relaxed)
        }
        if let bucket, let wait = bucket.take() {
            inFlight.wrappingSubtract(1, ordering: .relaxed)
            var error = SwerveError(
                .tooManyRequests,
                "model \(label) is limited to \(Self.format(bucket.rate)) requests a second with bursts of \(bucket.burst) (--model-max-requests-per-second or the model's '\(ModelLimits.rateParameter)' parameter); retry later")
            error.retryAfter = wait
            throw error
        }
    }

    /// Ends an admitted request.
    public func leave() {
        inFlight.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Checks that a request's BYTES inputs hold no more than ``ModelLimits/maxBytesElements``
    /// elements together.
    /// - Throws: `invalidArgument` naming the flag.
    func checkBytesElements(_ request: InferenceRequest) throws {
        let limit = limits.maxBytesElements
        guard limit > 0 else { return }
        var total = 0
        for input in request.inputs where input.tensor.dataType == .bytes {
            total += input.tensor.elementCount
        }
        if total > limit {
            throw SwerveError.invalid(
                "the request holds \(total) BYTES elements, more than the limit of \(limit) (--max-bytes-elements)")
        }
    }

    private static func format(_ rate: Double) -> String {
        rate == rate.rounded() && rate < 1e15 ? String(Int(rate)) : String(rate)
    }
}
