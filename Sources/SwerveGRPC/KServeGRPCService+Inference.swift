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
        return try await GRPCHandlerPlacement.placing(request) { try await GRPCErrorMapping.mapping {
            var inferenceRequest = try InferTranslation.request(from: request)
            let response: InferenceResponse
            do {
                response = try await RPCCancellation.run(context: context, drain: drain) { signal in
                    inferenceRequest.cancellation = signal
                    return try await server.infer(inferenceRequest)
                }
            } catch where (error as? SwerveError)?.code == .cancelled || error is CancellationError {
                if let deadline, ContinuousClock.now >= deadline {
                    throw SwerveError(.deadlineExceeded, "the call's deadline passed before its request ran")
                }
                throw error
            }
            return InferTranslation.message(from: response)
        } }
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
