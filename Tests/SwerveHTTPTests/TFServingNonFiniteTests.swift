import Foundation
import Testing

@testable import SwerveHTTP

struct TFServingNonFiniteTests {
    func marked(_ text: String) -> String? {
        TFServingNonFinite.markTokens(in: Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The bare tokens become marker strings that parse as JSON and read back as their numbers.
    @Test func tokensOutsideStringsBecomeNumbers() throws {
        let body = try #require(marked(#"{"instances": [[NaN, Infinity, -Infinity, -1.5e3, 2]]}"#))
        let parsed = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        let row = try #require((parsed?["instances"] as? [[Any]])?.first)
        #expect(TFServingNonFinite.value(of: row[0])?.isNaN == true)
        #expect(TFServingNonFinite.value(of: row[1]) == .infinity)
        #expect(TFServingNonFinite.value(of: row[2]) == -.infinity)
        #expect(TFServingNonFinite.value(of: row[3]) == nil)
        #expect((row[3] as? NSNumber)?.doubleValue == -1500)
    }

    /// Text inside strings is left alone, escaped quotes included; a body without tokens is not copied.
    @Test func stringsAndPlainBodiesAreUntouched() {
        #expect(marked(#"{"instances": ["NaN", "say \"Infinity\" -Infinity", 1, -2]}"#) == nil)
        #expect(marked(#"{"a": "\\", "b": NaN}"#) == #"{"a": "\\", "b": "\u0000NaN"}"#)
        #expect(TFServingNonFinite.value(of: "NaN") == nil)
        #expect(TFServingNonFinite.value(of: "\u{0}Nope") == nil)
    }
}
