import Foundation
import Testing

@testable import SwerveHTTP

/// The JSON tree of the small endpoints: written by `JSONWriter`, read with `Decodable`.
struct JSONValueTests {
    func text(_ value: JSONValue) -> String { String(decoding: value.encoded(), as: UTF8.self) }

    func read(_ text: String) throws -> JSONValue { try decodeJSON(JSONValue.self, Array(text.utf8)) }

    /// Keys are written in ascending order at every level; `/` and non-ASCII text are not escaped.
    @Test func writesSortedKeysWithoutEscapingSlashes() {
        let value: JSONValue = [
            "b": ["z": 1, "a": [true, .null, .double(0.5)]], "a": "tensorflow/serving/predict", "c": "é\"\\\n",
        ]
        #expect(text(value) == #"{"a":"tensorflow/serving/predict","b":{"a":[true,null,0.5],"z":1},"c":"é\"\\\n"}"#)
        #expect(text([:]) == "{}")
        #expect(text([]) == "[]")
    }

    /// Integers keep their exact values (as `Int64`, or `UInt64` above it); booleans are not numbers.
    @Test func readsIntegersExactlyAndBooleansApart() throws {
        let value = try read(#"{"a": 9007199254740993, "b": 18446744073709551615, "c": -1.5, "d": true, "e": 0, "f": "x", "g": null}"#)
        #expect(value == [
            "a": .int(9_007_199_254_740_993), "b": .uint(UInt64.max), "c": .double(-1.5), "d": true, "e": 0, "f": "x", "g": .null,
        ])
        #expect(text(value) == #"{"a":9007199254740993,"b":18446744073709551615,"c":-1.5,"d":true,"e":0,"f":"x","g":null}"#)
    }

    /// Integers of any width become `.int`, or `.uint` above `Int64.max`.
    @Test func integerValues() {
        #expect(JSONValue(UInt64(7)) == .int(7))
        #expect(JSONValue(UInt64.max) == .uint(.max))
        #expect(JSONValue(Int32.min) == .int(Int64(Int32.min)))
    }

    /// Text that is not JSON is a 400 naming the problem.
    @Test func malformedTextIsRefused() {
        #expect(throws: (any Error).self) { try read("{") }
        #expect(throws: (any Error).self) { try read(String(repeating: "[", count: 200)) }
    }
}
