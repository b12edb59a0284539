import Synchronization

/// A request's cancellation that comes from outside Swift's task tree: an HTTP client that
/// disconnects while its request waits in a queue.
///
/// gRPC cancels the handler's task, which Swift's task cancellation already reaches; an HTTP
/// frontend only learns that a connection closed from a callback on the connection, so it trips
/// a signal that the request carries instead. The scheduler removes a queued request whose signal
/// fires, exactly as it does for a cancelled task. One signal belongs to one client request, and
/// may be shared by the several core requests it becomes (each image of a TorchServe multipart
/// request is its own core request): firing it removes every one of them that is still queued.
public final class CancellationSignal: Sendable {
    private struct State {
        var cancelled = false
        /// Every handler registered since the signal was made, in order. A handler whose request
        /// has already left the queue stays here and does nothing when it runs. The list is not
        /// pruned: a signal lives as long as one HTTP request and gets one handler per core
        /// request it carries, so it holds a handful of entries and is freed with the request.
        var handlers: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    /// Creates a signal that has not fired.
    public init() {}

    /// Whether ``cancel()`` has been called.
    public var isCancelled: Bool {
        state.withLock { $0.cancelled }
    }

    /// Fires the signal: runs every registered handler once, now, in the order they were
    /// registered, on the calling thread and outside the signal's lock. Calling it again does
    /// nothing.
    public func cancel() {
        let handlers: [@Sendable () -> Void] = state.withLock { state in
            guard !state.cancelled else { return [] }
            state.cancelled = true
            defer { state.handlers = [] }
            return state.handlers
        }
        for handler in handlers { handler() }
    }

    /// Registers what to do when the signal fires, beside the handlers registered before.
    /// - Returns: false, without registering or running `handler`, when the signal has already
    ///   fired.
    func onCancel(_ handler: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard !state.cancelled else { return false }
            state.handlers.append(handler)
            return true
        }
    }
}
