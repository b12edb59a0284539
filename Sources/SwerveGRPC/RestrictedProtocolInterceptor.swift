import GRPCCore
import SwerveCore

/// The gRPC side of `--grpc-restricted-protocol`: refuses a call of a restricted category unless
/// its metadata carries the category's header (`triton-grpc-protocol-<header>`) with the key.
///
/// Refusals are PERMISSION_DENIED with Triton's message naming the header, never the key (Triton
/// itself answers UNAVAILABLE, which clients retry as if the server were down). The check runs on
/// the call's initial metadata, before the request message is read, for unary and streaming
/// calls alike.
struct RestrictedProtocolInterceptor: ServerInterceptor {
    /// The restricted categories.
    let restrictions: RestrictedFeatures

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        // A method without a category is a bug (a test walks every registered one); it is refused
        // rather than left open while restrictions are in force.
        guard let category = GRPCMethodCategories.byMethod[context.descriptor] else {
            throw RPCError(code: .permissionDenied, message: "method '\(context.descriptor.fullyQualifiedMethod)' has no access category; refused while --grpc-restricted-protocol is given")
        }
        do {
            try restrictions.check(category) { name in Array(request.metadata[stringValues: name]) }
        } catch {
            throw GRPCErrorMapping.rpcError(for: error)
        }
        return try await next(request, context)
    }
}
