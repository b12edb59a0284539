import SwerveCore

/// The `version` strings of gRPC requests: empty for the server's choice, else a positive integer.
package enum ModelVersionText {
    /// The version a request names, or `nil` for the version policy's default.
    /// - Throws: `invalidArgument` when the text is not a positive integer.
    package static func parse(_ text: String, model: String) throws -> Int? {
        if text.isEmpty { return nil }
        guard let version = Int(text), version > 0 else {
            throw SwerveError.invalid("model '\(model)': version '\(text)' is not a positive integer")
        }
        return version
    }
}
