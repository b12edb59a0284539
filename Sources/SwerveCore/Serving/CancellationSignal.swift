import Synchronization

/// A request's cancellation that comes from outside Swift's task tree: an HTTP client that
/// disconnects while its request waits in a queue.
///
/// gRPC cancels the handler's task, which Swift's task cancellation already reaches; an HTTP
/// frontend only learns that a connection closed from a callback on the connection, so it trips
/// a signal that the request carries instead. The scheduler removes a queued request whose signal
/// fires, exactly as it does for a cancelled task. One signal belongs to one request.
public final class CancellationSignal: Sendable {
    private struct State {
        var cancelled = false
        var handler: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Creates a signal that has not fired.
    public init() {}

    /// Whether ``cancel()`` has been called.
    public var isCancelled: Bool {
        state.withLock { $0.cancelled }
    }

    /// Fires the signal: runs the registered handler once, now, and any handler registered later
    /// at registration. Calling it again does nothing.
    public func cancel() {
        let handler: (@Sendable () -> Void)? = state.withLock { state in
            guard !state.cancelled else { return nil }
            state.cancelled = true
            defer { state.handler = nil }
            return state.handler
        }
        handler?()
    }

    /// Registers what to do when the signal fires, replacing any earlier handler.
    /// - Returns: false, without registering, when the signal has already fired.
    func onCancel(_ handler: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            guard !state.cancelled else { return false }
            state.handler = handler
            return true
        }
    }

    /// Forgets the registered handler (the request left the queue).
    func clearHandler() {
        state.withLock { $0.handler = nil }
    }
}
