/// The version a request names, as text (a URL segment, a gRPC `version` field): the one rule
/// every protocol reads versions with.
public enum ModelVersionText {
    /// The version `text` names, or `nil` (the model's default version) when it is absent or empty.
    /// - Throws: `invalidArgument` when the text is not a positive integer (`0`, `-1`, `abc`):
    ///   a malformed request, answered 400 / INVALID_ARGUMENT whichever protocol carried it.
    public static func parse(_ text: String?, model: String) throws -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let version = Int(text), version > 0 else {
            throw SwerveError.invalid("model '\(model)': version '\(text.prefix(64))' is not a positive integer")
        }
        return version
    }
}
