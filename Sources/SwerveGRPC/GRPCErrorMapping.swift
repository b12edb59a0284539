import GRPCCore
import SwerveCore

/// Turns every failure into a gRPC status with the message text, as Triton's clients expect; the
/// status code comes from the core's one table (``ErrorStatus``).
enum GRPCErrorMapping {
    /// The gRPC status code for a core error code.
    static func code(for code: SwerveError.Code) -> RPCError.Code {
        Status.Code(rawValue: code.status.grpc).flatMap(RPCError.Code.init) ?? .internalError
    }

    /// The RPC error for any error thrown while handling a call.
    static func rpcError(for error: any Error) -> RPCError {
        switch error {
        case let error as SwerveError:
            var metadata: Metadata = [:]
            // HTTP's Retry-After, in the trailers: whole seconds, rounded up.
            if let wait = error.retryAfter {
                let (seconds, attoseconds) = wait.components
                metadata.addString(String(max(1, seconds + (attoseconds > 0 ? 1 : 0))), forKey: "retry-after")
            }
            return RPCError(code: code(for: error.code), message: error.message, metadata: metadata, cause: error.cause)
        case let error as RPCError:
            return error
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the request was cancelled")
        default:
            return RPCError(code: .internalError, message: "internal error: \(error)", cause: error)
        }
    }

    /// Runs `body`, rethrowing whatever it throws as an ``RPCError`` with the mapped status.
    static func mapping<Result>(_ body: () async throws -> Result) async throws(RPCError) -> Result {
        do {
            return try await body()
        } catch {
            throw rpcError(for: error)
        }
    }
}
