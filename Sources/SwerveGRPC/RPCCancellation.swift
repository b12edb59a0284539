import GRPCCore
import SwerveCore
import Synchronization

/// Set once the gRPC server begins its graceful shutdown.
///
/// grpc-swift marks every open RPC as cancelled when the server starts to quiesce. That signal
/// must not abort inferences already accepted (they finish, as over HTTP), so handlers ask this
/// flag to tell a shutdown from a client that cancelled or a deadline that passed.
final class DrainSignal: Sendable {
    private let draining = Atomic<Bool>(false)

    /// Whether the server is shutting down.
    var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Marks the server as shutting down.
    func beginDraining() { draining.store(true, ordering: .releasing) }
}

/// Runs inference work so that cancelling the RPC (the client cancels, or its deadline passes)
/// cancels the work, which removes a queued request from the model's queue.
///
/// grpc-swift does not cancel a handler's task when the RPC is cancelled; it only signals the
/// RPC's cancellation handle. This bridges that signal to the request's ``CancellationSignal``
/// (as an HTTP client's disconnect is bridged), except while the server drains for shutdown.
/// The work runs in the handler's own task: no task of its own to create, schedule and await
/// for each request. Cancelling the handler's task cancels the work as any awaited work is.
enum RPCCancellation {
    /// Runs `operation` with a signal that fires when the RPC of `context` is cancelled (before
    /// or while `operation` runs) and the server is not draining.
    static func run<Result: Sendable>(
        context: ServerContext, drain: DrainSignal, _ operation: (CancellationSignal) async throws -> Result
    ) async throws -> Result {
        let cancellation = context.cancellation
        let signal = CancellationSignal()
        return try await withRPCCancellationHandler {
            // A cancellation that came before the handler was installed shows here.
            if cancellation.isCancelled && !drain.isDraining { signal.cancel() }
            return try await operation(signal)
        } onCancelRPC: {
            if !drain.isDraining { signal.cancel() }
        }
    }
}
