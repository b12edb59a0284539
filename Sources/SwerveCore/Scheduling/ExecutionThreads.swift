import DequeModule
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Work that ``ExecutionThreads`` runs one step at a time.
protocol ExecutionWork: AnyObject, Sendable {
    /// Does one step on an executor thread (an ``InstancePool`` runs one batch) and returns
    /// whether another step is due at once; the work then queues again behind the others.
    /// - Parameter timerFired: whether a timer set with ``ExecutionThreads/schedule(_:at:on:)``
    ///   asked for this step, rather than ``ExecutionThreads/schedule(_:)``.
    func executeStep(timerFired: Bool) -> Bool
}

/// The threads every model version's ``InstancePool`` runs its batches on, shared by the whole
/// process so that the number of threads does not grow with the number of loaded models.
///
/// At most ``limit`` threads exist. One starts when work arrives and no thread sleeps, and one
/// that has found nothing to do for ``idleTimeout`` exits, so an idle server holds none (or one
/// that keeps time for a batch waiting out its delay). Work runs a step at a time, in order of
/// arrival; work that has more to do queues again behind the others, so a busy model cannot keep
/// the threads from the rest, and a slow one holds only the threads its running batches use.
/// Handing work to a sleeping thread costs one condition signal, as a pool's own worker did.
///
/// Batching delays hold no thread. A pool waiting for its batch to fill sets a timer, and one
/// sleeping thread, the timekeeper, waits for the earliest timer. A timer follows its pool's
/// ``SchedulingClock``: the timekeeper sleeps for the time that clock says remains, and a clock
/// that moves by itself (``ManualSchedulingClock``) wakes it through ``follow(_:)``.
///
/// Locks: the executor never calls its work while its lock is held, and its work never calls
/// the executor while holding a lock of its own, so no two locks are ever taken in opposite
/// orders. Reading a clock's `now` under the executor's lock takes the clock's lock, which is
/// always the last one taken.
final class ExecutionThreads: @unchecked Sendable {
    // @unchecked: every mutable property below is read and written only while `condition` is
    // locked.
    private struct Entry {
        var work: any ExecutionWork
        var timerFired: Bool
    }

    private struct Timer {
        var work: any ExecutionWork
        var deadline: ContinuousClock.Instant
        var clock: any SchedulingClock
    }

    /// The executor model versions run on by default: at most twice as many threads as the CPU
    /// budget (at least 4), so a few models that block in a run do not stop the rest.
    static let shared = ExecutionThreads(limit: max(4, 2 * CPUBudget.available()))

    /// The most threads that run at once.
    let limit: Int
    /// How long a thread waits for work before it exits.
    let idleTimeout: Duration
    private let name: String
    private let condition = NSCondition()
    private var ready: Deque<Entry> = []
    private var timers: [Timer] = []
    /// Threads started and not exited.
    private var threads = 0
    /// Threads waiting on `condition`.
    private var sleeping = 0
    /// Signals sent to sleeping threads that no thread has woken for yet.
    private var wakeups = 0
    /// When the timekeeper wakes (real time); nil while no thread keeps time.
    private var timekeeperWake: ContinuousClock.Instant?

    /// Creates an executor whose threads start when work comes.
    /// - Parameters:
    ///   - limit: the most threads at once (at least 1).
    ///   - idleTimeout: how long a thread waits for work before it exits.
    ///   - name: the name of its threads (15 characters show in `/proc`).
    init(limit: Int, idleTimeout: Duration = .seconds(10), name: String = "swerve-exec") {
        self.limit = max(1, limit)
        self.idleTimeout = idleTimeout
        self.name = name
    }

    /// The threads alive now, running or sleeping.
    var threadCount: Int {
        condition.withLock { threads }
    }

    /// Steps waiting for a thread.
    var waitingCount: Int {
        condition.withLock { ready.count }
    }

    /// Runs a step of `work` on a thread as soon as one is free.
    func schedule(_ work: any ExecutionWork) {
        condition.lock()
        ready.append(Entry(work: work, timerFired: false))
        let start = wakeOrStart()
        condition.unlock()
        if start { startThread() }
    }

    /// Runs a step of `work` once `clock` reaches `deadline` (and a thread is free).
    func schedule(_ work: any ExecutionWork, at deadline: ContinuousClock.Instant, on clock: any SchedulingClock) {
        condition.lock()
        timers.append(Timer(work: work, deadline: deadline, clock: clock))
        var start = false
        if let wake = timekeeperWake {
            // Only the timekeeper acts on the new timer, and a signal may wake another thread.
            if realInstant(of: timers[timers.count - 1]) < wake { condition.broadcast() }
        } else {
            start = wakeOrStart()
        }
        condition.unlock()
        if start { startThread() }
    }

    /// Lets `clock` wake the timekeeper when it moves, for clocks that move by themselves.
    func follow(_ clock: any SchedulingClock) {
        clock.register(condition)
    }

    /// Makes sure some thread will look at the work just queued: wakes a sleeping thread that no
    /// one woke yet, else returns true when the caller must start one (the limit allowing). Call
    /// with `condition` locked.
    private func wakeOrStart() -> Bool {
        if sleeping > wakeups {
            wakeups += 1
            condition.signal()
            return false
        }
        guard threads < limit else { return false }  // a running thread takes it when it is done
        threads += 1
        return true
    }

    private func startThread() {
        let thread = Thread { [self] in
            Self.nameCurrentThread(name)
            loop()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Names the calling thread as `/proc`, `top -H` and debuggers show it. On Linux,
    /// Foundation's `Thread.name` does not always reach the system: about one thread in a hundred
    /// started from a Dispatch thread kept that thread's name.
    private static func nameCurrentThread(_ name: String) {
        #if os(Linux)
        let file = open("/proc/thread-self/comm", O_WRONLY)
        guard file >= 0 else { return }
        defer { close(file) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
        #else
        Thread.current.name = name
        #endif
    }

    private func loop() {
        condition.lock()
        var idleSince = ContinuousClock.now
        while true {
            var starts = fireDueTimers()
            if let entry = ready.popFirst() {
                // The timekeeper may have left to take this; another thread keeps time.
                if !timers.isEmpty, timekeeperWake == nil, wakeOrStart() { starts += 1 }
                condition.unlock()
                for _ in 0..<starts { startThread() }
                let again = entry.work.executeStep(timerFired: entry.timerFired)
                condition.lock()
                if again {
                    ready.append(Entry(work: entry.work, timerFired: false))
                    // Others wait ahead of it and this thread takes the first: it needs another.
                    if ready.count > 1, wakeOrStart() {
                        condition.unlock()
                        startThread()
                        condition.lock()
                    }
                }
                idleSince = .now
                continue
            }
            let keepsTime = !timers.isEmpty && timekeeperWake == nil
            let wake: ContinuousClock.Instant
            if keepsTime {
                wake = timers.map(realInstant(of:)).min()!
                timekeeperWake = wake
            } else {
                wake = idleSince + idleTimeout
                if ContinuousClock.now >= wake {
                    threads -= 1
                    condition.unlock()
                    return
                }
            }
            sleeping += 1
            let seconds = ContinuousClock.now.duration(to: wake) / .seconds(1)
            _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            sleeping -= 1
            if wakeups > 0 { wakeups -= 1 }
            if keepsTime { timekeeperWake = nil }
        }
    }

    /// Moves the timers whose clock reached their deadline to the ready work and returns how many
    /// threads to start for them; the calling thread takes the first when nothing else was ready.
    /// Call with `condition` locked.
    private func fireDueTimers() -> Int {
        var uncovered = ready.isEmpty ? -1 : 0
        var starts = 0
        timers.removeAll { timer in
            guard timer.clock.now >= timer.deadline else { return false }
            ready.append(Entry(work: timer.work, timerFired: true))
            uncovered += 1
            if uncovered > 0, wakeOrStart() { starts += 1 }
            return true
        }
        return starts
    }

    /// The real instant at which `timer`'s clock will have reached its deadline, as far as can
    /// be told now.
    private func realInstant(of timer: Timer) -> ContinuousClock.Instant {
        ContinuousClock.now + max(.zero, timer.clock.now.duration(to: timer.deadline))
    }
}
