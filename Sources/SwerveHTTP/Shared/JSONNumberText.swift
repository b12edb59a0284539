/// Converts the text of a JSON number (as ``JSONTape`` checked it) to Swift numbers, accepting
/// what Foundation's `JSONDecoder` accepted: an integer type takes any number whose exact decimal
/// value is a whole number in its range (`1.0`, `1e2`, `-0`), a floating-point type any number
/// that neither overflows to infinity nor underflows a non-zero value to zero.
enum JSONNumberText {
    /// The number as `T`, or nil when it is not a whole number in `T`'s range.
    static func integer<T: FixedWidthInteger>(_ text: UnsafeBufferPointer<UInt8>, as _: T.Type = T.self) -> T? {
        var index = 0
        let negative = text[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        var magnitude: UInt64 = 0
        // Fast path: only digits.
        while index < text.count, let digit = digitValue(text[index]) {
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return slowInteger(text) }
            magnitude = sum
            index += 1
        }
        guard index == text.count else { return slowInteger(text) }
        return signed(magnitude, negative: negative)
    }

    /// A fraction or an exponent: the significant digits and the power of ten they scale by.
    private static func slowInteger<T: FixedWidthInteger>(_ text: UnsafeBufferPointer<UInt8>) -> T? {
        var index = 0
        let negative = text[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        var digits: [UInt8] = []
        var scale = 0
        var seenPoint = false
        while index < text.count, text[index] | 0x20 != UInt8(ascii: "e") {
            if text[index] == UInt8(ascii: ".") {
                seenPoint = true
            } else {
                if !(digits.isEmpty && text[index] == UInt8(ascii: "0")) { digits.append(text[index] - UInt8(ascii: "0")) }
                if seenPoint { scale -= 1 }
            }
            index += 1
        }
        if index < text.count {
            index += 1
            var exponentNegative = false
            if text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") {
                exponentNegative = text[index] == UInt8(ascii: "-")
                index += 1
            }
            var exponent = 0
            while index < text.count {
                // Clamped: any exponent this large already decides the answer.
                exponent = min(exponent * 10 + Int(text[index] - UInt8(ascii: "0")), 1_000_000)
                index += 1
            }
            scale += exponentNegative ? -exponent : exponent
        }
        while let last = digits.last, last == 0 {
            digits.removeLast()
            scale += 1
        }
        if digits.isEmpty { return 0 }
        guard scale >= 0, digits.count + scale <= 20 else { return nil }
        var magnitude: UInt64 = 0
        for digit in digits + [UInt8](repeating: 0, count: scale) {
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
        }
        return signed(magnitude, negative: negative)
    }

    private static func signed<T: FixedWidthInteger>(_ magnitude: UInt64, negative: Bool) -> T? {
        guard negative, magnitude != 0 else { return T(exactly: magnitude) }
        guard T.isSigned, magnitude - 1 <= UInt64(T.max) else { return nil }
        return T(truncatingIfNeeded: 0 &- magnitude)
    }

    private static func digitValue(_ byte: UInt8) -> UInt8? {
        let value = byte &- UInt8(ascii: "0")
        return value < 10 ? value : nil
    }

    /// The number rounded to the nearest `Float`, or nil when that is infinite or a non-zero
    /// number rounds to zero.
    static func float(_ text: UnsafeBufferPointer<UInt8>) -> Float? {
        // Fast path: at most 7 significant digits and 10 decimals, no exponent: both the digits
        // and the power of ten are exact floats, so one division rounds correctly.
        if let (digits, decimals, negative) = shortDecimal(text, maxDigits: 7), decimals <= 10 {
            let value = Float(digits) / powersOfTenFloat[decimals]
            return negative ? -value : value
        }
        return checked(Float(String(decoding: text, as: UTF8.self)), text)
    }

    /// The number rounded to the nearest `Double`, or nil when that is infinite or a non-zero
    /// number rounds to zero.
    static func double(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        if let (digits, decimals, negative) = shortDecimal(text, maxDigits: 15), decimals <= 22 {
            let value = Double(digits) / powersOfTenDouble[decimals]
            return negative ? -value : value
        }
        return checked(Double(String(decoding: text, as: UTF8.self)), text)
    }

    private static let powersOfTenFloat: [Float] = (0...10).map { exponent in (0..<exponent).reduce(Float(1)) { value, _ in value * 10 } }
    private static let powersOfTenDouble: [Double] = (0...22).map { exponent in (0..<exponent).reduce(Double(1)) { value, _ in value * 10 } }

    /// A number without an exponent and with at most `maxDigits` digits: its digits as an
    /// integer and the count after the point.
    private static func shortDecimal(_ text: UnsafeBufferPointer<UInt8>, maxDigits: Int) -> (UInt64, Int, Bool)? {
        var index = 0
        let negative = text[0] == UInt8(ascii: "-")
        if negative { index = 1 }
        var digits: UInt64 = 0
        var count = 0
        var decimals = 0
        var seenPoint = false
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                seenPoint = true
            } else if let digit = digitValue(byte) {
                if digits != 0 || digit != 0 { count += 1 }
                guard count <= maxDigits else { return nil }
                digits = digits * 10 + UInt64(digit)
                if seenPoint { decimals += 1 }
            } else {
                return nil  // an exponent
            }
            index += 1
        }
        return (digits, decimals, negative)
    }

    private static func checked<T: BinaryFloatingPoint>(_ value: T?, _ text: UnsafeBufferPointer<UInt8>) -> T? {
        guard let value, value.isFinite else { return nil }
        if value == 0 {
            // Zero only from a zero: any non-zero digit before the exponent underflowed.
            for byte in text {
                if byte | 0x20 == UInt8(ascii: "e") { break }
                if byte >= UInt8(ascii: "1"), byte <= UInt8(ascii: "9") { return nil }
            }
        }
        return value
    }
}
