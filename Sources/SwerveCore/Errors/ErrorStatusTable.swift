/// How every protocol answers each kind of core failure: the one table the frontends read, so
/// that the same mistake gets the same answer over KServe HTTP, gRPC, TorchServe and TF Serving.
///
/// The core names no protocol types; the statuses are plain numbers and names, which each
/// frontend turns into its own types (`HTTPResponse.Status`, `RPCError.Code`) in one line.
public struct ErrorStatus: Sendable, Equatable {
    /// The HTTP status of every HTTP frontend: KServe v2, TorchServe and TF Serving's REST API,
    /// whose own mapping of canonical codes to HTTP agrees with this column for every row.
    public var http: Int
    /// The gRPC status code (the canonical code's number: 3 is INVALID_ARGUMENT).
    public var grpc: Int
    /// The canonical code's name, as gRPC and TF Serving write it (`INVALID_ARGUMENT`).
    public var canonicalName: String
    /// TorchServe's error `type` (`ModelNotFoundException`).
    public var torchServeType: String
}

extension SwerveError.Code {
    /// How each protocol answers this kind of failure.
    public var status: ErrorStatus {
        switch self {
        // A model that rejects the request's values (modelFailed) faults the request, not the server.
        case .invalidArgument, .modelFailed:
            ErrorStatus(http: 400, grpc: 3, canonicalName: "INVALID_ARGUMENT", torchServeType: "BadRequestException")
        case .notFound: ErrorStatus(http: 404, grpc: 5, canonicalName: "NOT_FOUND", torchServeType: "ModelNotFoundException")
        case .unavailable: ErrorStatus(http: 503, grpc: 14, canonicalName: "UNAVAILABLE", torchServeType: "ServiceUnavailableException")
        case .payloadTooLarge:
            ErrorStatus(http: 413, grpc: 8, canonicalName: "RESOURCE_EXHAUSTED", torchServeType: "RequestEntityTooLargeException")
        // A limit on the client's use (requests in flight, rate): 429 as RFC 6585 defines it, and
        // RESOURCE_EXHAUSTED, the code google.rpc maps to and from 429 ("some resource has been
        // exhausted, perhaps a per-user quota"); UNAVAILABLE stays the model's own overload
        // (queue full, not ready), which gRPC clients retry at once.
        case .tooManyRequests:
            ErrorStatus(http: 429, grpc: 8, canonicalName: "RESOURCE_EXHAUSTED", torchServeType: "TooManyRequestsException")
        // RFC 6585's 431; headers are read by the HTTP listeners only.
        case .requestHeaderFieldsTooLarge:
            ErrorStatus(http: 431, grpc: 8, canonicalName: "RESOURCE_EXHAUSTED", torchServeType: "BadRequestException")
        // WebDAV's 507 Insufficient Storage: the request is fine, the server lacks the room to
        // serve it; gRPC's RESOURCE_EXHAUSTED, as for other limits.
        case .insufficientMemory:
            ErrorStatus(http: 507, grpc: 8, canonicalName: "RESOURCE_EXHAUSTED", torchServeType: "InsufficientMemoryException")
        case .unsupportedMediaType:
            ErrorStatus(http: 415, grpc: 3, canonicalName: "INVALID_ARGUMENT", torchServeType: "UnsupportedMediaTypeException")
        case .alreadyExists: ErrorStatus(http: 409, grpc: 6, canonicalName: "ALREADY_EXISTS", torchServeType: "ConflictException")
        // TorchServe's 403 for unregistering the default version while others are served.
        case .failedPrecondition:
            ErrorStatus(http: 403, grpc: 9, canonicalName: "FAILED_PRECONDITION", torchServeType: "InvalidModelVersionException")
        // TorchServe calls a missing or wrong key InvalidKeyException (and answers it 400; 403
        // says what it is).
        case .permissionDenied:
            ErrorStatus(http: 403, grpc: 7, canonicalName: "PERMISSION_DENIED", torchServeType: "InvalidKeyException")
        case .methodNotAllowed:
            ErrorStatus(http: 405, grpc: 12, canonicalName: "UNIMPLEMENTED", torchServeType: "MethodNotAllowedException")
        case .unsupported: ErrorStatus(http: 501, grpc: 12, canonicalName: "UNIMPLEMENTED", torchServeType: "InternalServerException")
        // A client that gave up; HTTP has no status for it and the client no longer reads one.
        case .cancelled: ErrorStatus(http: 400, grpc: 1, canonicalName: "CANCELLED", torchServeType: "BadRequestException")
        case .deadlineExceeded:
            ErrorStatus(http: 504, grpc: 4, canonicalName: "DEADLINE_EXCEEDED", torchServeType: "InternalServerException")
        case .internal: ErrorStatus(http: 500, grpc: 13, canonicalName: "INTERNAL", torchServeType: "InternalServerException")
        }
    }
}
