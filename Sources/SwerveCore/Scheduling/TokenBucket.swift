import Synchronization

/// A token bucket: a rate limit that allows bursts. The bucket holds up to ``burst`` tokens and
/// gains ``rate`` tokens a second; each admitted request takes one. It starts full.
///
/// Time comes from a ``SchedulingClock``, so tests move it by hand instead of sleeping. A take
/// holds a lock for a few arithmetic operations and allocates nothing.
public final class TokenBucket: Sendable {
    /// Tokens gained per second.
    public let rate: Double
    /// The most tokens the bucket holds: the longest burst admitted at once.
    public let burst: Int

    private struct State {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let clock: any SchedulingClock
    private let state: Mutex<State>

    /// Creates a full bucket.
    /// - Parameters:
    ///   - rate: tokens gained per second; must be positive.
    ///   - burst: the bucket's size; at least 1.
    ///   - clock: the time the bucket refills by.
    public init(rate: Double, burst: Int, clock: any SchedulingClock = SystemSchedulingClock()) {
        precondition(rate > 0 && rate.isFinite, "a token bucket's rate must be positive")
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self.state = Mutex(State(tokens: Double(max(1, burst)), updated: clock.now))
    }

    /// Takes one token.
    /// - Returns: nil when a token was taken; otherwise how long until the next token comes
    ///   (the bucket is unchanged).
    public func take() -> Duration? {
        let now = clock.now
        let (rate, burst) = (rate, Double(burst))
        return state.withLock { state -> Duration? in
            if now > state.updated {
                state.tokens = min(burst, state.tokens + Self.seconds(now - state.updated) * rate)
                state.updated = now
            }
            if state.tokens >= 1 {
                state.tokens -= 1
                return nil
            }
            // Capped at a year so that no rate, however slow, makes a wait Int64 cannot hold.
            return .nanoseconds(Int64(min((1 - state.tokens) / rate * 1e9, 3.2e16).rounded(.up)))
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
