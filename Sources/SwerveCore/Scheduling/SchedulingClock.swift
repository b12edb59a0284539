import Foundation
import Synchronization

/// The time the scheduler decides by: when a request was queued, and when its queue timeout or
/// the batching delay ends.
///
/// Production uses ``SystemSchedulingClock``; tests inject ``ManualSchedulingClock`` and move
/// time themselves, so queue-timeout and batching-delay tests never sleep. Durations recorded
/// for statistics (how long a model ran) are measured with the real clock either way.
public protocol SchedulingClock: Sendable {
    /// The current instant.
    var now: ContinuousClock.Instant { get }
    /// Tells the clock that threads wait on `condition` for one of its instants. A thread waits
    /// in real time for what remains until the instant on this clock; a clock that moves other
    /// than in real time must lock and broadcast `condition` when it moves, so they decide again.
    func register(_ condition: NSCondition)
}

/// The real clock: `ContinuousClock`.
public struct SystemSchedulingClock: SchedulingClock {
    /// Creates the system clock.
    public init() {}

    public var now: ContinuousClock.Instant { .now }

    public func register(_ condition: NSCondition) {}
}

/// A clock that moves only when a test calls ``advance(by:)``; threads waiting for a deadline
/// wake whenever it moves and decide again.
public final class ManualSchedulingClock: SchedulingClock, @unchecked Sendable {
    // @unchecked: `conditions` and `current` are only touched under `lock`; NSCondition is
    // thread-safe.
    private let lock = NSLock()
    private var current = ContinuousClock.now
    private var conditions: [NSCondition] = []

    /// Creates a clock standing at the real current instant.
    public init() {}

    public var now: ContinuousClock.Instant {
        lock.withLock { current }
    }

    /// Moves the clock forward and wakes every thread waiting on it.
    ///
    /// A waiter reads ``now`` and starts waiting while holding its condition's lock, and the
    /// wake-up takes that lock, so a waiter either sees the new time or is woken by it.
    public func advance(by duration: Duration) {
        let waiting = lock.withLock {
            current = current + duration
            return conditions
        }
        for condition in waiting {
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
    }

    public func register(_ condition: NSCondition) {
        lock.withLock {
            if !conditions.contains(where: { $0 === condition }) { conditions.append(condition) }
        }
    }
}
