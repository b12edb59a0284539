/// Writes JSON text straight into a byte array: the one way the HTTP frontends produce JSON.
/// Inference responses write tensors of many thousands of numbers through it without building
/// intermediate objects; the other endpoints build a ``JSONValue`` and write it with
/// ``value(_:)``. Strings are escaped as JSON requires and no more: `/` and non-ASCII characters
/// are written as they are.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends JSON text as it is.
    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Appends a quoted, escaped JSON string.
    mutating func string(_ value: String) {
        string(utf8: value.utf8)
    }

    /// Appends a quoted, escaped JSON string from UTF-8 bytes; invalid UTF-8 is replaced.
    mutating func string<C: Collection>(utf8 value: C) where C.Element == UInt8 {
        bytes.append(UInt8(ascii: "\""))
        if value.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 < 0x80 }) {
            bytes.append(contentsOf: value)
        } else {
            for scalar in String(decoding: value, as: UTF8.self).unicodeScalars {
                switch scalar {
                case "\"": raw("\\\"")
                case "\\": raw("\\\\")
                case "\n": raw("\\n")
                case "\r": raw("\\r")
                case "\t": raw("\\t")
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    raw("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                default:
                    bytes.append(contentsOf: String(scalar).utf8)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends an integer.
    mutating func number<T: BinaryInteger>(_ value: T) {
        raw(String(value))
    }

    /// Appends a floating-point number in its shortest round-trip form; NaN and infinities are
    /// written as `NaN`, `Infinity` and `-Infinity`, which Python's json module reads.
    mutating func number<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T) {
        if value.isNaN {
            raw("NaN")
        } else if value.isInfinite {
            raw(value < 0 ? "-Infinity" : "Infinity")
        } else {
            raw(value.description)
        }
    }

    /// Appends `true` or `false`.
    mutating func bool(_ value: Bool) {
        raw(value ? "true" : "false")
    }
}
