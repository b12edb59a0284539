import SwerveCore

/// A failed TensorFlow call: the `TF_Code` and message read from its `TF_Status`.
struct TFStatusError: Error, Sendable, CustomStringConvertible {
    /// The `TF_Code` (`tsl_status.h`), e.g. 3 for `TF_INVALID_ARGUMENT`.
    var code: Int32
    /// TensorFlow's message.
    var message: String

    var description: String { "\(Self.name(of: code)): \(message)" }

    /// `TF_INVALID_ARGUMENT`: the values fed do not suit the graph (a wrong shape, for example).
    static let invalidArgument: Int32 = 3
    /// `TF_NOT_FOUND`: a file or folder is missing.
    static let notFound: Int32 = 5
    /// `TF_FAILED_PRECONDITION`.
    static let failedPrecondition: Int32 = 9
    /// `TF_OUT_OF_RANGE`: a file ended before what it declares (a truncated one).
    static let outOfRange: Int32 = 11
    /// `TF_DATA_LOSS`: a file is corrupt.
    static let dataLoss: Int32 = 15

    /// The name of a `TF_Code`, for messages: `INVALID_ARGUMENT`, `NOT_FOUND`, ...
    static func name(of code: Int32) -> String {
        let names = [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
            "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
            "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ]
        return names.indices.contains(Int(code)) ? names[Int(code)] : "code \(code)"
    }
}

extension TFAPI {
    /// Calls `body` with a new `TF_Status`, deletes it, and throws what it recorded when that is
    /// not `TF_OK`.
    func withStatus<R>(_ body: (OpaquePointer?) -> R) throws(TFStatusError) -> R {
        let status = newStatus()
        defer { deleteStatus(status) }
        let result = body(status)
        let code = getCode(status)
        guard code == 0 else {
            throw TFStatusError(code: code, message: message(status).map { String(cString: $0) } ?? "unknown TensorFlow error")
        }
        return result
    }
}
