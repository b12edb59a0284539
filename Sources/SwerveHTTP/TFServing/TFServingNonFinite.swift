import Foundation
import SwerveCore

/// TensorFlow Serving's JSON extension for special floating-point values: requests and
/// responses may hold the bare tokens `NaN`, `Infinity` and `-Infinity` (as Python's `json`
/// writes them), which standard JSON parsers refuse.
///
/// Before parsing, ``markTokens(in:)`` turns each such token outside a string into a marker
/// string that no client sends (it starts with a NUL character); ``value(of:)`` turns a marker
/// back into its number when a floating-point tensor is built. (Responses write the tokens
/// directly: see `JSONWriter`.)
enum TFServingNonFinite {
    /// The three tokens, longest first where one is a prefix of another, and their values.
    private static let tokens: [(text: [UInt8], value: Double)] = [
        (Array("-Infinity".utf8), -.infinity), (Array("Infinity".utf8), .infinity), (Array("NaN".utf8), .nan),
    ]

    /// The marker string a token becomes: NUL, then the token.
    private static func marker(_ token: [UInt8]) -> [UInt8] { Array(#""\u0000"#.utf8) + token + [UInt8(ascii: "\"")] }

    /// `body` with every `NaN`, `Infinity` and `-Infinity` token outside strings replaced by its
    /// marker string, or `nil` when there is none (the body is then parsed as it is).
    static func markTokens(in body: [UInt8]) -> [UInt8]? {
        var output: [UInt8]?
        var strings = JSONStringTracker()
        var copied = 0  // bytes of `body` already in `output`
        var i = 0
        while i < body.count {
            let byte = body[i]
            if strings.isInString(byte) {
                i += 1
                continue
            }
            // A token has no quote or backslash, so skipping its bytes leaves the tracker right.
            if byte == UInt8(ascii: "N") || byte == UInt8(ascii: "I") || byte == UInt8(ascii: "-"),
               let token = tokens.first(where: { body[i...].starts(with: $0.text) })
            {
                if output == nil { output = [] }
                output!.append(contentsOf: body[copied..<i])
                output!.append(contentsOf: marker(token.text))
                i += token.text.count
                copied = i
                continue
            }
            i += 1
        }
        guard var result = output else { return nil }
        result.append(contentsOf: body[copied...])
        return result
    }

    /// The number a marker string stands for, or `nil` for any other value.
    static func value(of element: Any) -> Double? {
        guard let text = element as? String, text.utf8.first == 0 else { return nil }
        let token = Array(text.utf8.dropFirst())
        return tokens.first(where: { $0.text == token })?.value
    }
}
