/// A failure that stops the server from starting although its command line is right: a port in
/// use, ONNX Runtime not found. The command exits with status 1 and the message, without the
/// usage text that a wrong command line (a `ValidationError`, status 64) gets.
struct StartupFailure: Error, CustomStringConvertible {
    /// What went wrong and how to fix it.
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
