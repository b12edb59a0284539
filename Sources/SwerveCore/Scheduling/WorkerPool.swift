import DequeModule
import Foundation

/// A fixed number of threads that run submitted work in order of arrival.
///
/// Image decoding and preprocessing run here, never on Swift's cooperative pool or an event loop.
/// The pool has one thread fewer than the CPU budget (at least one), so a burst of large images
/// (a 6000×6000 PNG takes a core for a third of a second) never takes every core: the HTTP
/// listeners keep answering, liveness probes included. Dispatch's concurrent queue, used before,
/// ran as many decodes at once as requests came in, and liveness answers waited up to 270 ms.
public final class WorkerPool: @unchecked Sendable {
    // @unchecked: `jobs` and `started` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs = Deque<() -> Void>()
    private var started = 0
    private let threadCount: Int
    private let name: String

    /// The pool image preprocessing runs on.
    public static let preprocessing = WorkerPool(name: "swerve-preprocess", threads: max(1, CPUBudget.available() - 1))

    /// Creates a pool whose `threads` threads start on first use.
    public init(name: String, threads: Int) {
        self.name = name
        self.threadCount = max(1, threads)
    }

    /// Runs `work` on one of the pool's threads and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(with: Result { try work() }) }
            if started < threadCount && started < jobs.count {
                started += 1
                let thread = Thread { [self] in loop() }
                thread.name = name
                thread.start()
            }
            condition.signal()
            condition.unlock()
        }
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
