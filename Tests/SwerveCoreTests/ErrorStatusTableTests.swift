import Testing

@testable import SwerveCore

/// The one table of how each protocol answers a core failure.
struct ErrorStatusTableTests {
    /// gRPC's canonical codes by number, as the gRPC spec names them.
    static let canonicalNames = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]

    /// Every code has a consistent row: an HTTP error status, a gRPC error code whose canonical
    /// name is the row's, and a TorchServe exception type.
    @Test(arguments: SwerveError.Code.allCases)
    func everyCodeHasAConsistentRow(_ code: SwerveError.Code) {
        let status = code.status
        #expect((400...599).contains(status.http), "\(code): HTTP \(status.http)")
        #expect((1...16).contains(status.grpc), "\(code): gRPC \(status.grpc) is not an error code")
        #expect(Self.canonicalNames.indices.contains(status.grpc) && Self.canonicalNames[status.grpc] == status.canonicalName,
                "\(code): gRPC \(status.grpc) is not \(status.canonicalName)")
        #expect(status.torchServeType.hasSuffix("Exception"), "\(code): \(status.torchServeType)")
        // Only a bug of ours is a 500; anything a client can cause says so.
        #expect((status.http == 500) == (code == .internal), "\(code): HTTP \(status.http)")
    }

    /// The rows clients rely on most, pinned.
    @Test(arguments: [
        (SwerveError.Code.invalidArgument, ErrorStatus(http: 400, grpc: 3, canonicalName: "INVALID_ARGUMENT", torchServeType: "BadRequestException")),
        (.notFound, ErrorStatus(http: 404, grpc: 5, canonicalName: "NOT_FOUND", torchServeType: "ModelNotFoundException")),
        (.unavailable, ErrorStatus(http: 503, grpc: 14, canonicalName: "UNAVAILABLE", torchServeType: "ServiceUnavailableException")),
        (.failedPrecondition,
         ErrorStatus(http: 403, grpc: 9, canonicalName: "FAILED_PRECONDITION", torchServeType: "InvalidModelVersionException")),
        (.alreadyExists, ErrorStatus(http: 409, grpc: 6, canonicalName: "ALREADY_EXISTS", torchServeType: "ConflictException")),
        (.payloadTooLarge,
         ErrorStatus(http: 413, grpc: 8, canonicalName: "RESOURCE_EXHAUSTED", torchServeType: "RequestEntityTooLargeException")),
        (.insufficientMemory,
         ErrorStatus(http: 507, grpc: 8, canonicalName: "RESOURCE_EXHAUSTED", torchServeType: "InsufficientMemoryException")),
        (.tooManyRequests,
         ErrorStatus(http: 429, grpc: 8, canonicalName: "RESOURCE_EXHAUSTED", torchServeType: "TooManyRequestsException")),
        (.requestHeaderFieldsTooLarge,
         ErrorStatus(http: 431, grpc: 8, canonicalName: "RESOURCE_EXHAUSTED", torchServeType: "BadRequestException")),
        (.deadlineExceeded,
         ErrorStatus(http: 504, grpc: 4, canonicalName: "DEADLINE_EXCEEDED", torchServeType: "InternalServerException")),
        (.internal, ErrorStatus(http: 500, grpc: 13, canonicalName: "INTERNAL", torchServeType: "InternalServerException")),
        (.permissionDenied, ErrorStatus(http: 403, grpc: 7, canonicalName: "PERMISSION_DENIED", torchServeType: "InvalidKeyException")),
    ])
    func pinnedRows(_ code: SwerveError.Code, _ expected: ErrorStatus) {
        #expect(code.status == expected)
    }

    /// Not supported is 501 / UNIMPLEMENTED; a wrong method is 405 / UNIMPLEMENTED; an unreadable
    /// encoding is 415 / INVALID_ARGUMENT.
    @Test func unsupportedThingsAnswerUnimplementedOrUnreadable() {
        #expect(SwerveError.Code.unsupported.status.http == 501)
        #expect(SwerveError.Code.unsupported.status.canonicalName == "UNIMPLEMENTED")
        #expect(SwerveError.Code.methodNotAllowed.status.http == 405)
        #expect(SwerveError.Code.methodNotAllowed.status.canonicalName == "UNIMPLEMENTED")
        #expect(SwerveError.Code.unsupportedMediaType.status.http == 415)
        #expect(SwerveError.Code.unsupportedMediaType.status.canonicalName == "INVALID_ARGUMENT")
    }
}
