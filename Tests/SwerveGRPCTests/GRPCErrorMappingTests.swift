import GRPCCore
import SwerveCore
import Testing

@testable import SwerveGRPC

/// The one mapping from core errors to gRPC status codes.
struct GRPCErrorMappingTests {
    /// The status Triton's clients expect for each core error code.
    static let expectedStatuses: [(SwerveError.Code, RPCError.Code)] = [
        (.invalidArgument, .invalidArgument),
        (.modelFailed, .invalidArgument),
        (.notFound, .notFound),
        (.unavailable, .unavailable),
        (.payloadTooLarge, .resourceExhausted),
        (.insufficientMemory, .resourceExhausted),
        (.tooManyRequests, .resourceExhausted),
        (.requestHeaderFieldsTooLarge, .resourceExhausted),
        (.unsupportedMediaType, .invalidArgument),
        (.alreadyExists, .alreadyExists),
        (.failedPrecondition, .failedPrecondition),
        (.permissionDenied, .permissionDenied),
        (.methodNotAllowed, .unimplemented),
        (.unsupported, .unimplemented),
        (.cancelled, .cancelled),
        (.deadlineExceeded, .deadlineExceeded),
        (.internal, .internalError),
    ]

    /// Each core error code maps to the status Triton's clients expect, keeping the message.
    @Test(arguments: GRPCErrorMappingTests.expectedStatuses)
    func coreCodesMapToGRPCStatuses(_ code: SwerveError.Code, _ expected: RPCError.Code) {
        let error = GRPCErrorMapping.rpcError(for: SwerveError(code, "the message"))
        #expect(error.code == expected)
        #expect(error.message == "the message")
    }

    /// A wait the core knows (a rate limit's next token) goes in a `retry-after` trailer, in
    /// whole seconds rounded up, as HTTP's `Retry-After`.
    @Test func retryAfterBecomesATrailer() {
        var error = SwerveError(.tooManyRequests, "slow down")
        error.retryAfter = .milliseconds(1500)
        let rpc = GRPCErrorMapping.rpcError(for: error)
        #expect(rpc.code == .resourceExhausted)
        #expect(Array(rpc.metadata[stringValues: "retry-after"]) == ["2"])
        #expect(Array(GRPCErrorMapping.rpcError(for: SwerveError(.unavailable, "x")).metadata[stringValues: "retry-after"]).isEmpty)
    }

    /// The expected statuses cover every core code.
    @Test func everyCoreCodeHasAnExpectedStatus() {
        let listed = Self.expectedStatuses.map(\.0)
        #expect(Set(listed) == Set(SwerveError.Code.allCases))
        #expect(listed.count == SwerveError.Code.allCases.count, "a code is listed twice")
    }

    /// gRPC answers every core code with the number of the core's one table (no second mapping).
    @Test(arguments: SwerveError.Code.allCases)
    func grpcCodeIsTheTablesNumber(_ code: SwerveError.Code) {
        #expect(GRPCErrorMapping.code(for: code).rawValue == code.status.grpc)
        #expect(GRPCErrorMapping.rpcError(for: SwerveError(code, "m")).code.rawValue == code.status.grpc)
    }

    /// Task cancellation is CANCELLED, RPC errors pass unchanged, anything else is INTERNAL.
    @Test func otherErrorsMapSensibly() {
        #expect(GRPCErrorMapping.rpcError(for: CancellationError()).code == .cancelled)
        #expect(GRPCErrorMapping.rpcError(for: RPCError(code: .aborted, message: "x")).code == .aborted)
        struct Unexpected: Error {}
        #expect(GRPCErrorMapping.rpcError(for: Unexpected()).code == .internalError)
    }
}
