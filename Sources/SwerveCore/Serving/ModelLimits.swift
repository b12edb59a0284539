import Foundation

/// The limits on what one model version admits: requests in flight, a request rate, and BYTES
/// elements per request.
///
/// The server's flags give the defaults for every model; a model's `config.pbtxt` may set its own
/// with Triton-style `parameters` (string values, as Triton's parameters are):
/// ```
/// parameters { key: "max_inflight_requests" value: { string_value: "8" } }
/// parameters { key: "max_requests_per_second" value: { string_value: "50" } }
/// parameters { key: "max_request_burst" value: { string_value: "10" } }
/// ```
/// Triton's own config has no field for these: its `rate_limiter` shares execution resources
/// between instances, and `max_queue_size` (which Swerve honours too) bounds the queue only.
public struct ModelLimits: Sendable, Equatable {
    /// The most requests a version holds at once, from acceptance to answer (preprocessing,
    /// queue and execution); 0 for no limit. Flag `--model-max-inflight-requests`.
    public var maxInflightRequests: Int
    /// The requests a second a version admits on average (a token bucket); 0 for no limit.
    /// Flag `--model-max-requests-per-second`.
    public var maxRequestsPerSecond: Double
    /// The most requests admitted at once past the rate (the bucket's size); 0 for the rate
    /// rounded up (one second's worth). Flag `--model-max-request-burst`.
    public var maxRequestBurst: Int
    /// The most BYTES (string) elements one request's inputs may hold together; 0 for no limit.
    /// Flag `--max-bytes-elements`.
    public var maxBytesElements: Int

    /// The rates accepted besides 0: from one request in 1,000 s to a billion a second.
    public static let rateRange: ClosedRange<Double> = 0.001...1e9

    /// The config parameter keys that override the flags.
    public static let inflightParameter = "max_inflight_requests"
    public static let rateParameter = "max_requests_per_second"
    public static let burstParameter = "max_request_burst"

    /// Creates limits; the defaults are the server's flags' defaults.
    public init(maxInflightRequests: Int = 2048, maxRequestsPerSecond: Double = 0, maxRequestBurst: Int = 0, maxBytesElements: Int = 1 << 20) {
        self.maxInflightRequests = maxInflightRequests
        self.maxRequestsPerSecond = maxRequestsPerSecond
        self.maxRequestBurst = maxRequestBurst
        self.maxBytesElements = maxBytesElements
    }

    /// No limit at all.
    public static let unlimited = ModelLimits(maxInflightRequests: 0, maxRequestsPerSecond: 0, maxRequestBurst: 0, maxBytesElements: 0)

    /// The bucket's size: ``maxRequestBurst``, or one second's worth of the rate.
    public var effectiveBurst: Int {
        maxRequestBurst > 0 ? maxRequestBurst : max(1, Int(min(maxRequestsPerSecond, Self.rateRange.upperBound).rounded(.up)))
    }

    /// These limits with a model configuration's `parameters` applied over them.
    /// - Throws: `invalidArgument` naming the parameter when its value is not a number of the
    ///   right kind.
    public func applying(_ config: Inference_ModelConfig) throws -> ModelLimits {
        var limits = self
        if let text = config.parameters[Self.inflightParameter]?.stringValue {
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw SwerveError.invalid("config parameter '\(Self.inflightParameter)' must be a whole number of requests, 0 for no limit, not '\(text)'")
            }
            limits.maxInflightRequests = value
        }
        if let text = config.parameters[Self.rateParameter]?.stringValue {
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value == 0 || Self.rateRange.contains(value) else {
                throw SwerveError.invalid("config parameter '\(Self.rateParameter)' must be a number of requests a second from 0.001 to 1e9, 0 for no limit, not '\(text)'")
            }
            limits.maxRequestsPerSecond = value
        }
        if let text = config.parameters[Self.burstParameter]?.stringValue {
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw SwerveError.invalid("config parameter '\(Self.burstParameter)' must be a whole number of requests, 0 for the rate's, not '\(text)'")
            }
            limits.maxRequestBurst = value
        }
        return limits
    }
}
