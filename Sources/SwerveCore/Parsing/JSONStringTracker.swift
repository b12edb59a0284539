/// Follows JSON text one byte at a time and says which bytes belong to strings, so a scan for
/// structure (brackets, bare tokens) skips the contents of strings, escaped quotes included.
///
/// The one rule for telling strings apart in a byte scan: ``JSONNesting`` and TF Serving's
/// non-finite token marking both use it.
public struct JSONStringTracker: Sendable {
    @usableFromInline var inString = false
    @usableFromInline var escaped = false

    /// A tracker at the start of a JSON text, outside any string.
    @inlinable public init() {}

    /// Reads `byte`, the next byte of the text, and returns whether it belongs to a string: its
    /// opening quote, its contents and escapes, or its closing quote.
    @inlinable public mutating func isInString(_ byte: UInt8) -> Bool {
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
            return true
        }
        if byte == UInt8(ascii: "\"") {
            inString = true
            return true
        }
        return false
    }
}
