import GRPCCore
import SwerveCore

extension KServeGRPCService {
    /// Runs one request. Cancelling the RPC (or its deadline passing) cancels the request, which
    /// leaves the model's queue if it has not started.
    func modelInfer(request: Inference_ModelInferRequest, context: ServerContext) async throws -> Inference_ModelInferResponse {
        try await modelInfer(request: request, context: context, timeout: nil)
    }

    /// Runs one request under the call's `timeout`: a request cancelled because that deadline
    /// passed ends with DEADLINE_EXCEEDED, as gRPC reports a passed deadline, not CANCELLED. A
    /// large request is handled off the event loop (``GRPCHandlerPlacement``).
    func modelInfer(request: Inference_ModelInferRequest, context: ServerContext, timeout: Duration?) async throws -> Inference_ModelInferResponse {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let server = self.server
        return try await GRPCErrorMapping.mapping {
            do {
                return try await RPCCancellation.run(context: context, drain: drain) { signal in
                    try await Self.infer(request, server: server, cancellation: signal)
                }
            } catch {
                throw Self.deadlineError(error, deadline: deadline)
            }
        }
    }

    /// A request cancelled because the call's `deadline` passed ends with DEADLINE_EXCEEDED, as
    /// gRPC reports a passed deadline, not CANCELLED; any other error is returned as it is.
    static func deadlineError(_ error: any Error, deadline: ContinuousClock.Instant?) -> any Error {
        guard (error as? SwerveError)?.code == .cancelled || error is CancellationError,
              let deadline, ContinuousClock.now >= deadline
        else { return error }
        return SwerveError(.deadlineExceeded, "the call's deadline passed before its request ran")
    }

    /// Answers one `ModelInferRequest`: translates it, runs it (where ``GRPCHandlerPlacement``
    /// says), and translates the response. `cancellation` cancels the request. Both the service's
    /// `ModelInfer` and ``GRPCInferFastPath`` answer with it.
    static func infer(
        _ message: Inference_ModelInferRequest, server: InferenceServer, cancellation: CancellationSignal
    ) async throws -> Inference_ModelInferResponse {
        try await GRPCHandlerPlacement.placing(message) {
            var request = try InferTranslation.request(from: message)
            request.cancellation = cancellation
            return InferTranslation.message(from: try await server.infer(request))
        }
    }

    /// Runs the requests of a stream, several at once, and answers each in request order. A
    /// request that fails is answered with `error_message` and the stream stays open.
    ///
    /// When the client cancels the stream, requests in flight are cancelled; when the server shuts
    /// down, reading stops, requests in flight finish and the stream ends.
    func modelStreamInfer(
        request: RPCAsyncSequence<Inference_ModelInferRequest, any Error>,
        response: RPCWriter<Inference_ModelStreamInferResponse>,
        context: ServerContext
    ) async throws {
        let server = self.server
        let drain = self.drain
        let cancellation = context.cancellation
        let pipeline = OrderedPipeline<Inference_ModelInferRequest, Inference_ModelStreamInferResponse>(window: streamWindow) { message in
            await Self.streamResponse(to: message, server: server)
        }
        try await GRPCErrorMapping.mapping {
            try await pipeline.run(
                request,
                stop: {
                    try await cancellation.cancelled
                    return !drain.isDraining
                },
                write: { try await response.write($0) })
        }
    }

    /// The stream message answering one request: its response, or the error's message.
    static func streamResponse(to message: Inference_ModelInferRequest, server: InferenceServer) async -> Inference_ModelStreamInferResponse {
        do {
            return try await GRPCHandlerPlacement.placing(message) {
                let request = try InferTranslation.request(from: message)
                let response = try await server.infer(request)
                return .with { $0.inferResponse = InferTranslation.message(from: response) }
            }
        } catch {
            return .with { $0.errorMessage = GRPCErrorMapping.rpcError(for: error).message }
        }
    }
}
