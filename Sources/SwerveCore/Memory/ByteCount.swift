/// A size in bytes, as written on a command line (`--model-memory-budget 2G`) and as shown in
/// messages ("the model needs 3.1 GiB but the memory budget is 2 GiB").
///
/// ```swift
/// ByteCount(parsing: "512M")?.bytes   // 536870912
/// ByteCount(parsing: "1.5GiB")        // 1.5 GiB
/// ByteCount(parsing: "-1G")           // nil
/// ```
public struct ByteCount: Sendable, Equatable, CustomStringConvertible {
    /// The number of bytes, never negative.
    public var bytes: Int

    /// A count of `bytes`, which must not be negative.
    public init(bytes: Int) {
        precondition(bytes >= 0, "a byte count cannot be negative")
        self.bytes = bytes
    }

    /// Parses a size: a plain number of bytes (`"1048576"`), or a number with a unit `K`, `M`,
    /// `G` or `T` in powers of 1024, which may be written `Ki`, `Mi`, `Gi`, `Ti` and may end in
    /// `B` (`"512M"`, `"2GiB"`, `"4kb"`; any case). A number with a unit may have a fraction
    /// (`"1.5G"`), rounded down to a whole byte; spaces around the number and before the unit are
    /// allowed. Returns `nil` for anything else: an empty or negative size, a sign, a fraction
    /// of a byte, an unknown unit, or more than `Int.max` bytes.
    public init?(parsing text: String) {
        guard let bytes = Self.parse(Substring(text).utf8) else { return nil }
        self.bytes = bytes
    }

    /// The size in the largest binary unit it reaches, with one decimal when it is not a whole
    /// number of that unit: "100 B", "512 MiB", "1.5 GiB". See ``describe(_:)``.
    public var description: String { Self.describe(bytes) }

    /// Renders a number of bytes in the largest of B, KiB, MiB, GiB and TiB that it reaches,
    /// rounded to one decimal: "100 B", "2 GiB", "1.5 GiB", "3.1 GiB". A size that is not a whole
    /// number of its unit always shows its decimal ("2.0 GiB" is near 2 GiB, not exactly), so a
    /// message never shows a size that differs from the budget as the budget's "2 GiB".
    public static func describe(_ bytes: Int) -> String {
        let sign = bytes < 0 ? "-" : ""
        let magnitude = bytes.magnitude
        var unitIndex = 0
        while unitIndex + 1 < units.count && magnitude >= UInt(1) << (10 * (unitIndex + 1)) {
            unitIndex += 1
        }
        let unit = UInt(1) << (10 * unitIndex)
        var whole = magnitude / unit
        let remainder = magnitude % unit
        guard remainder != 0 else { return "\(sign)\(whole) \(units[unitIndex])" }
        var tenths = (remainder * 10 + unit / 2) / unit
        if tenths == 10 {
            whole += 1
            tenths = 0
        }
        return "\(sign)\(whole).\(tenths) \(units[unitIndex])"
    }

    private static let units = ["B", "KiB", "MiB", "GiB", "TiB"]

    /// Longest fraction read; 18 decimals times 2^40 still fits in 128 bits, and further digits
    /// change the result by less than a byte.
    private static let maxFractionDigits = 18

    private static func parse(_ text: Substring.UTF8View) -> Int? {
        var rest = text.drop(while: isSpace)
        while let last = rest.last, isSpace(last) { rest = rest.dropLast() }

        let integerDigits = rest.prefix(while: isDigit)
        guard !integerDigits.isEmpty else { return nil }
        rest = rest.dropFirst(integerDigits.count)
        var fractionDigits = rest.prefix(0)
        if rest.first == UInt8(ascii: ".") {
            fractionDigits = rest.dropFirst().prefix(while: isDigit)
            guard !fractionDigits.isEmpty else { return nil }
            rest = rest.dropFirst(1 + fractionDigits.count)
        }
        rest = rest.drop(while: isSpace)
        guard let shift = unitShift(rest) else { return nil }
        // A fraction needs a unit: "1.5" bytes means nothing.
        guard fractionDigits.isEmpty || shift > 0 else { return nil }

        var whole = 0
        for digit in integerDigits {
            let (times10, overflow1) = whole.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            whole = sum
        }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow else { return nil }

        // The fraction's bytes, exactly: digits × 2^shift / 10^count, rounded down.
        var numerator: UInt128 = 0
        var denominator: UInt128 = 1
        for digit in fractionDigits.prefix(maxFractionDigits) {
            numerator = numerator * 10 + UInt128(digit - UInt8(ascii: "0"))
            denominator *= 10
        }
        let fractionBytes = Int((numerator << shift) / denominator)
        let (total, overflowTotal) = scaled.addingReportingOverflow(fractionBytes)
        return overflowTotal ? nil : total
    }

    /// The power of two a unit stands for (`""` and `"B"` 0, `"K"` 10, … `"TiB"` 40), or `nil`.
    private static func unitShift(_ unit: Substring.UTF8View.SubSequence) -> Int? {
        var letters = Array(unit.map { $0 | 0x20 })  // ASCII lower case; other bytes fail below
        if letters.last == UInt8(ascii: "b") { letters.removeLast() }
        guard let first = letters.first else { return 0 }
        guard letters.count == 1 || (letters.count == 2 && letters[1] == UInt8(ascii: "i")) else { return nil }
        switch first {
        case UInt8(ascii: "k"): return 10
        case UInt8(ascii: "m"): return 20
        case UInt8(ascii: "g"): return 30
        case UInt8(ascii: "t"): return 40
        default: return nil
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
}
