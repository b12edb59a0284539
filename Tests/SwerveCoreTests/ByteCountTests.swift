import SwerveCore
import Testing

/// Sizes as written on the command line, and as shown in messages.
struct ByteCountTests {
    static let plainNumbersAreBytesCases: [(String, Int)] = [
        ("0", 0), ("100", 100), ("1048576", 1_048_576), ("9223372036854775807", Int.max),
    ]

    /// A plain number is bytes, up to `Int.max`.
    @Test(arguments: plainNumbersAreBytesCases)
    func plainNumbersAreBytes(text: String, bytes: Int) {
        #expect(ByteCount(parsing: text)?.bytes == bytes)
    }

    static let unitsArePowersOf1024Cases: [(String, Int)] = [
        ("4K", 4 << 10), ("4k", 4 << 10), ("4KB", 4 << 10), ("4kib", 4 << 10),
        ("512M", 512 << 20), ("512Mi", 512 << 20), ("512MiB", 512 << 20),
        ("2G", 2 << 30), ("2g", 2 << 30), ("2GB", 2 << 30), ("2GiB", 2 << 30), ("2gIb", 2 << 30),
        ("3T", 3 << 40), ("3TiB", 3 << 40), ("100B", 100), ("100b", 100),
        ("8388607T", 8_388_607 << 40),
    ]

    /// K, M, G and T are powers of 1024, in any case, with or without `i` and `B`.
    @Test(arguments: unitsArePowersOf1024Cases)
    func unitsArePowersOf1024(text: String, bytes: Int) {
        #expect(ByteCount(parsing: text)?.bytes == bytes)
    }

    static let spacesAroundTheNumberAreAllowedCases: [(String, Int)] = [
        (" 2G ", 2 << 30), ("2 GiB", 2 << 30), ("1.5 GiB", 3 << 29), ("\t64 M", 64 << 20),
    ]

    /// Spaces around the number and between number and unit are allowed ("2 GiB" as shown).
    @Test(arguments: spacesAroundTheNumberAreAllowedCases)
    func spacesAroundTheNumberAreAllowed(text: String, bytes: Int) {
        #expect(ByteCount(parsing: text)?.bytes == bytes)
    }

    static let fractionsOfAUnitRoundDownCases: [(String, Int)] = [
        ("1.5G", 1_610_612_736), ("0.5K", 512), ("0.1K", 102), ("1.25MiB", 1_310_720), ("2.0G", 2 << 30),
        ("0.0000000000000000000001T", 0), ("8388607.999999T", (8_388_607 << 40) + 1_099_510_528_264),
    ]

    /// A number with a unit may have a fraction, rounded down to a whole byte.
    @Test(arguments: fractionsOfAUnitRoundDownCases)
    func fractionsOfAUnitRoundDown(text: String, bytes: Int) {
        #expect(ByteCount(parsing: text)?.bytes == bytes)
    }

    static let malformedSizesAreRefusedCases: [String] = [
        "", " ", "G", "GiB", "-1", "-1G", "-0", "+1G", "1.5", "1.5B", "1.G", ".5G", "1..5G", "1.5.G",
        "1,000", "1_000", "0x10", "1e3", "12 34", "2X", "2P", "2KiBB", "2iB", "2Gi B", "2G B", "2 G i B",
        "２G", "2G!", "9223372036854775808", "8388608T", "9007199254740992K", "99999999999999999999",
    ]

    /// Empty, negative, signed, malformed, unknown units, fractions of a byte and sizes beyond
    /// `Int.max` are refused.
    @Test(arguments: malformedSizesAreRefusedCases)
    func malformedSizesAreRefused(text: String) {
        #expect(ByteCount(parsing: text) == nil)
    }

    static let sizesShowInTheLargestUnitCases: [(Int, String)] = [
        (0, "0 B"), (100, "100 B"), (1023, "1023 B"), (1024, "1 KiB"), (1536, "1.5 KiB"),
        (512 << 20, "512 MiB"), (2 << 30, "2 GiB"), (3 << 29, "1.5 GiB"), (3_328_599_654, "3.1 GiB"),
        (5 << 40, "5 TiB"), (-2048, "-2 KiB"),
    ]

    /// Sizes show in the largest unit they reach, whole when exact, else with one decimal.
    @Test(arguments: sizesShowInTheLargestUnitCases)
    func sizesShowInTheLargestUnit(bytes: Int, text: String) {
        #expect(ByteCount.describe(bytes) == text)
    }

    static let inexactSizesShowTheirDecimalCases: [(Int, String)] = [
        ((2 << 30) + (1 << 20), "2.0 GiB"), ((2 << 30) - (1 << 20), "2.0 GiB"), ((1 << 20) - 1, "1024.0 KiB"),
        (Int.max, "8388608.0 TiB"),
    ]

    /// A size that is not a whole number of its unit never shows as one: 2 GiB and 1 MiB is
    /// "2.0 GiB", not the "2 GiB" of a budget it exceeds.
    @Test(arguments: inexactSizesShowTheirDecimalCases)
    func inexactSizesShowTheirDecimal(bytes: Int, text: String) {
        #expect(ByteCount.describe(bytes) == text)
    }

    /// The description of a parsed size is the described byte count.
    @Test func descriptionDescribesTheBytes() throws {
        #expect(try #require(ByteCount(parsing: "1.5G")).description == "1.5 GiB")
        #expect(ByteCount(bytes: 100).description == "100 B")
        #expect(ByteCount(parsing: "2048M") == ByteCount(bytes: 2 << 30))
    }
}
