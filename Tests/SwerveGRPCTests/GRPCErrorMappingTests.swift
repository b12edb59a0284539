import GRPCCore
import SwerveCore
import Testing

@testable import SwerveGRPC

/// The one mapping from core errors to gRPC status codes.
struct GRPCErrorMappingTests {
    /// Each core error code maps to the status Triton's clients expect, keeping the message.
    @Test(arguments: [
        (SwerveError.Code.invalidArgument, RPCError.Code.invalidArgument),
        (.modelFailed, .invalidArgument),
        (.notFound, .notFound),
        (.unavailable, .unavailable),
        (.payloadTooLarge, .resourceExhausted),
        (.unsupported, .unimplemented),
        (.cancelled, .cancelled),
        (.deadlineExceeded, .deadlineExceeded),
        (.internal, .internalError),
    ])
    func coreCodesMapToGRPCStatuses(_ code: SwerveError.Code, _ expected: RPCError.Code) {
        let error = GRPCErrorMapping.rpcError(for: SwerveError(code, "the message"))
        #expect(error.code == expected)
        #expect(error.message == "the message")
    }

    /// Task cancellation is CANCELLED, RPC errors pass unchanged, anything else is INTERNAL.
    @Test func otherErrorsMapSensibly() {
        #expect(GRPCErrorMapping.rpcError(for: CancellationError()).code == .cancelled)
        #expect(GRPCErrorMapping.rpcError(for: RPCError(code: .aborted, message: "x")).code == .aborted)
        struct Unexpected: Error {}
        #expect(GRPCErrorMapping.rpcError(for: Unexpected()).code == .internalError)
    }
}
