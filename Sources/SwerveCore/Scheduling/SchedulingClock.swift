import Foundation
import Synchronization

/// The time the scheduler decides by: when a request was queued, when its queue timeout or the
/// batching delay ends, and how a worker thread waits for that moment.
///
/// Production uses ``SystemSchedulingClock``; tests inject ``ManualSchedulingClock`` and move
/// time themselves, so queue-timeout and batching-delay tests never sleep. Durations recorded
/// for statistics (how long a model ran) are measured with the real clock either way.
public protocol SchedulingClock: Sendable {
    /// The current instant.
    var now: ContinuousClock.Instant { get }
    /// Blocks the calling thread, which holds `condition`'s lock, until `deadline` passes on this
    /// clock or the condition is signalled; the lock is held again on return.
    func wait(on condition: NSCondition, until deadline: ContinuousClock.Instant)
    /// Tells the clock that worker threads of `condition` wait on it (a manual clock wakes them
    /// when it moves).
    func register(_ condition: NSCondition)
}

/// The real clock: `ContinuousClock`, with timed condition waits.
public struct SystemSchedulingClock: SchedulingClock {
    /// Creates the system clock.
    public init() {}

    public var now: ContinuousClock.Instant { .now }

    public func wait(on condition: NSCondition, until deadline: ContinuousClock.Instant) {
        let remaining = ContinuousClock.now.duration(to: deadline)
        let seconds = Double(remaining.components.seconds) + Double(remaining.components.attoseconds) * 1e-18
        _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
    }

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

    public func wait(on condition: NSCondition, until deadline: ContinuousClock.Instant) {
        condition.wait()
    }

    public func register(_ condition: NSCondition) {
        lock.withLock { conditions.append(condition) }
    }
}
