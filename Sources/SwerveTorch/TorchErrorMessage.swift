/// Shortens libtorch's error messages to what a client can act on.
///
/// A failure inside a TorchScript function comes with the interpreter's tracebacks ("The
/// following operation failed in the TorchScript interpreter. Traceback of TorchScript, serialized
/// code ...") before the message itself, which is the last `RuntimeError: ...` (or other
/// `...Error:`) line and what follows it. Other messages are kept from their start.
enum TorchErrorMessage {
    /// The most lines kept.
    static let maxLines = 6

    /// The message without TorchScript's tracebacks, at most ``maxLines`` lines.
    static func summary(_ message: String) -> String {
        let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
        var start = 0
        if message.contains("Traceback of TorchScript"),
           let last = lines.lastIndex(where: isExceptionLine) {
            start = last
        }
        let kept = lines[start...].prefix(maxLines)
        var summary = kept.joined(separator: "\n").trimmingWhitespace()
        if lines.count - start > kept.count {
            summary += " …"
        }
        return summary.isEmpty ? "libtorch gave no message" : summary
    }

    /// A line such as `RuntimeError: ...` or `torch.jit.Error: ...`.
    private static func isExceptionLine(_ line: Substring) -> Bool {
        guard let colon = line.firstIndex(of: ":") else { return false }
        let name = line[..<colon]
        return (name.hasSuffix("Error") || name.hasSuffix("Exception"))
            && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    fileprivate func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
