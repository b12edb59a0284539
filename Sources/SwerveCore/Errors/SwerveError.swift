/// The one error type of the core: a code that says what kind of failure it is, and a message
/// written for the person who sent the request.
///
/// Every frontend answers a ``Code`` with the status ``ErrorStatus`` gives for it (one table).
public struct SwerveError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; frontends choose their status from it.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The request is malformed or does not match the model.
        case invalidArgument
        /// No such model or version, or one that was unloaded.
        case notFound
        /// The model is not ready, or its queue is full: retry later.
        case unavailable
        /// The request body or message is larger than allowed.
        case payloadTooLarge
        /// The model has as many requests in flight as it admits, or its rate limit is spent:
        /// retry after ``SwerveError/retryAfter``.
        case tooManyRequests
        /// The request's header fields are larger or more numerous than allowed.
        case requestHeaderFieldsTooLarge
        /// A model does not fit in the server's memory budget (`--model-memory-budget`).
        case insufficientMemory
        /// The request body is in an encoding the server cannot read.
        case unsupportedMediaType
        /// The thing to create exists already.
        case alreadyExists
        /// The operation is refused in the model's current state (the default version of a model
        /// served in several versions cannot go).
        case failedPrecondition
        /// The endpoint's category is restricted (`--http-restricted-api`,
        /// `--grpc-restricted-protocol`) and the request lacks its header or key.
        case permissionDenied
        /// The path exists but not for this method.
        case methodNotAllowed
        /// The operation is not supported by this server.
        case unsupported
        /// The request was cancelled by its client before it ran.
        case cancelled
        /// The request's deadline or queue timeout passed before it ran.
        case deadlineExceeded
        /// The model failed while running the request (bad values the model rejects).
        case modelFailed
        /// A bug or an unexpected failure inside Swerve.
        case `internal`
    }

    /// The kind of failure.
    public var code: Code
    /// A message that says precisely what went wrong, for the client.
    public var message: String
    /// The underlying error, if any, for logs.
    public var cause: (any Error & Sendable)?
    /// How long the client should wait before it tries again, when the server knows (a rate
    /// limit's next token); HTTP frontends send it as `Retry-After`.
    public var retryAfter: Duration?

    /// The longest message kept, in UTF-8 bytes: messages quote what clients sent (a model name,
    /// a header), and a megabyte-long name must not become a megabyte of error body, log line
    /// or gRPC trailer (encoding one held an event loop for a second).
    public static let maxMessageBytes = 2048

    /// Creates an error with a code, a message (cut to ``maxMessageBytes``) and an optional cause.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = Self.bounded(message)
        self.cause = cause
    }

    private static func bounded(_ message: String) -> String {
        let bytes = message.utf8.count
        guard bytes > maxMessageBytes else { return message }
        var kept = Substring(message).prefix(maxMessageBytes / 2)
        while kept.utf8.count > maxMessageBytes - 64 { kept = kept.dropLast(kept.count / 4 + 1) }
        return kept + "… (message of \(bytes) bytes cut)"
    }

    /// The message, and the cause when there is one (for logs; clients get ``message``).
    public var description: String {
        guard let cause else { return message }
        return "\(message) (cause: \(cause))"
    }

    /// A request that is malformed or does not match the model.
    public static func invalid(_ message: String) -> SwerveError { SwerveError(.invalidArgument, message) }
    /// An unknown model or version.
    public static func notFound(_ message: String) -> SwerveError { SwerveError(.notFound, message) }
    /// A model or server that cannot answer now.
    public static func unavailable(_ message: String) -> SwerveError { SwerveError(.unavailable, message) }
    /// A failure inside Swerve.
    public static func `internal`(_ message: String, cause: (any Error & Sendable)? = nil) -> SwerveError {
        SwerveError(.internal, message, cause: cause)
    }
}

extension SwerveError {
    /// The text a client sees for any error: a ``SwerveError``'s message (its cause stays in the
    /// logs), else the error's description.
    public static func clientMessage(_ error: any Error) -> String {
        (error as? SwerveError)?.message ?? "\(error)"
    }
}
