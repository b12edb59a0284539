import SwerveCore

/// A failed ONNX Runtime call: the `OrtErrorCode` and message read from its `OrtStatus`.
struct ORTStatusError: Error, Sendable, CustomStringConvertible {
    /// The `OrtErrorCode` (PROTOCOLS.md §8.3), e.g. 3 for `ORT_NO_SUCHFILE`.
    var code: Int32
    /// ONNX Runtime's message.
    var message: String

    var description: String { message }

    /// Whether the code says the model file is at fault (missing, unreadable, invalid) rather than
    /// ONNX Runtime or Swerve.
    var isModelFileError: Bool { ORTConstant.modelFileErrorCodes.contains(code) }
}

extension ORTAPI {
    /// Turns a returned `OrtStatus*` into an error, releasing the status; NULL means success.
    func check(_ status: OpaquePointer?) throws(ORTStatusError) {
        guard let status else { return }
        defer { releaseStatus(status) }
        let message = getErrorMessage(status).map { String(cString: $0) } ?? "unknown ONNX Runtime error"
        throw ORTStatusError(code: getErrorCode(status), message: message)
    }

    /// Like ``check(_:)``, but throws an `internal` ``SwerveError`` saying what Swerve was doing.
    ///
    /// For calls that fail only when ONNX Runtime or Swerve has a bug, or memory runs out.
    func check(_ status: OpaquePointer?, _ doing: @autoclosure () -> String) throws(SwerveError) {
        do {
            try check(status)
        } catch {
            throw SwerveError.internal("ONNX Runtime failed while \(doing()): \(error.message)", cause: error)
        }
    }

    /// Frees memory that ONNX Runtime allocated with `allocator` (names, for example).
    func free(_ pointer: UnsafeMutableRawPointer?, allocator: OpaquePointer) {
        guard let pointer else { return }
        if let status = allocatorFree(allocator, pointer) {
            releaseStatus(status)
        }
    }
}
