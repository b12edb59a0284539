import DequeModule
import Synchronization

/// Lets one model load run at a time, in the order they asked.
///
/// Loads are serialised so that the memory each one measures (the allocator's growth around it)
/// is its own, and so that deciding what to evict for it sees every other version's real size.
/// Waiting is asynchronous: a task waiting here holds no thread.
final class LoadGate: Sendable {
    private struct State {
        var busy = false
        var waiters: Deque<CheckedContinuation<Void, Never>> = []
    }

    private let state = Mutex(State())

    /// Runs `body` once every load that asked before has finished.
    func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let entered = state.withLock { state -> Bool in
                guard state.busy else {
                    state.busy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if entered { continuation.resume() }
        }
    }

    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let next = state.waiters.popFirst() else {
                state.busy = false
                return nil
            }
            return next  // stays busy: the gate passes straight to the next waiter
        }
        next?.resume()
    }
}
