import SwerveCore
import Testing

/// The nesting bound every JSON body passes before a JSON parser sees it.
struct JSONNestingTests {
    /// 513 nested openers ending the body crashed Foundation's JSON scanner.
    @Test(arguments: [101, 512, 513, 514, 100_000])
    func deepNestingIsRefused(depth: Int) {
        #expect(throws: SwerveError.self) { try JSONNesting.check(Array(repeating: UInt8(ascii: "["), count: depth)) }
        #expect(throws: SwerveError.self) { try JSONNesting.check(Array(String(repeating: "{\"a\":", count: depth).utf8)) }
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let text = String(repeating: "[", count: JSONNesting.limit) + String(repeating: "]", count: JSONNesting.limit)
        try JSONNesting.check(Array(text.utf8))
        // Brackets in strings (escaped quotes included) do not count; closers bring the depth down.
        let inString = "{\"a\": \"" + String(repeating: "[", count: 1000) + "\\\"[[[\"}"
        try JSONNesting.check(Array(inString.utf8))
        let siblings = String(repeating: "[[]]", count: 10_000)
        try JSONNesting.check(Array(siblings.utf8))
    }
}
