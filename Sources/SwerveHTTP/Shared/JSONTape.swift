import SwerveCore

/// A JSON text read in one pass into a flat list of its values, for readers that want a few
/// fields of a small document without a general decoder's cost.
///
/// Each value is one ``Entry`` in document order; an object's entries are its members as key
/// (a string entry) then value, an array's its elements, and a container's entry says where the
/// entries after it start, so a reader skips a value it does not want in one step. Strings and
/// numbers keep only their byte range in the text; ``string(_:in:)`` makes a `String` when asked.
///
/// The whole text is checked while it is read: RFC 8259's grammar (numbers, escapes, `\uXXXX`
/// surrogate pairs, no control characters in strings), well-formed UTF-8 in every string, and
/// nothing but whitespace after the value. Two leniencies follow Foundation's `JSONDecoder`, which
/// read these bodies before: a UTF-8 byte order mark may lead the text, and a comma may end an
/// object's or an array's list. Nesting deeper than `depthLimit` is refused (the parser
/// recurses once per level), so no text drives it deep; every step consumes a byte, so the cost
/// is linear in the text.
struct JSONTape {
    enum Kind: UInt8 {
        case object, array, string, escapedString, number, `true`, `false`, null
    }

    /// One value. Strings (without their quotes) and numbers: `start..<end` in the text.
    /// Objects and arrays: `start` is the number of members or elements and `end` the index of
    /// the first entry after the container's.
    struct Entry {
        var kind: Kind
        var start: Int
        var end: Int
    }

    /// The text is not JSON.
    struct SyntaxError: Error {}

    private(set) var entries: [Entry] = []

    /// Reads `bytes` as one JSON value.
    /// - Throws: ``SyntaxError`` when the text is not JSON or nests deeper than `depthLimit`.
    init(_ bytes: UnsafeBufferPointer<UInt8>, depthLimit: Int = JSONNesting.limit) throws {
        var parser = Parser(bytes: bytes, depthLimit: depthLimit)
        // Enough for a request header; a large body grows the list as it goes.
        parser.entries.reserveCapacity(min(max(16, bytes.count / 8), 1024))
        try parser.parseDocument()
        entries = parser.entries
    }

    /// The index of the entry after the value at `index` (and after everything inside it).
    func next(after index: Int) -> Int {
        switch entries[index].kind {
        case .object, .array: entries[index].end
        default: index + 1
        }
    }

    /// The value of the first member named `key` of the object at `object` (JSON allows
    /// duplicates; the first one counts, as with `JSONDecoder`).
    func member(_ key: StaticString, of object: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var index = object + 1
        for _ in 0..<entries[object].start {
            if stringEquals(index, key, in: bytes) { return index + 1 }
            index = next(after: index + 1)
        }
        return nil
    }

    /// Whether the string at `index` is `literal`.
    func stringEquals(_ index: Int, _ literal: StaticString, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let entry = entries[index]
        let target = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        if entry.kind == .string {
            guard entry.end - entry.start == target.count else { return false }
            return memcmpEqual(bytes.baseAddress! + entry.start, target.baseAddress!, target.count)
        }
        return string(index, in: bytes).utf8.elementsEqual(target)
    }

    /// The string at `index`, escapes resolved.
    /// - Precondition: the entry is a string.
    func string(_ index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        let entry = entries[index]
        let raw = UnsafeBufferPointer(rebasing: bytes[entry.start..<entry.end])
        if entry.kind == .string { return String(decoding: raw, as: UTF8.self) }
        return JSONTape.unescape(raw)
    }

    /// The number text at `index`.
    func numberText(_ index: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        let entry = entries[index]
        return UnsafeBufferPointer(rebasing: bytes[entry.start..<entry.end])
    }

    private func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        for offset in 0..<count where a[offset] != b[offset] { return false }
        return true
    }

    /// Resolves the escapes of a string's contents the parser has checked.
    private static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            let escape = raw[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(hexValue(raw, at: index))
                index += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    // The parser checked that a low surrogate escape follows.
                    let low = UInt32(hexValue(raw, at: index + 2))
                    index += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                out.append(contentsOf: String(Unicode.Scalar(scalar)!).utf8)
            default: out.append(escape)  // " \ /
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ raw: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt16 {
        var value: UInt16 = 0
        for offset in 0..<4 { value = value << 4 | UInt16(hexDigit(raw[index + offset])!) }
        return value
    }

    fileprivate static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension JSONTape {
    /// The single pass over the text.
    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let depthLimit: Int
        var index = 0
        var entries: [Entry] = []

        init(bytes: UnsafeBufferPointer<UInt8>, depthLimit: Int) {
            self.bytes = bytes
            self.depthLimit = depthLimit
        }

        mutating func parseDocument() throws(SyntaxError) {
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
            skipWhitespace()
            try parseValue(depth: 0)
            skipWhitespace()
            guard index == bytes.count else { throw SyntaxError() }
        }

        private mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        private func peek() throws(SyntaxError) -> UInt8 {
            guard index < bytes.count else { throw SyntaxError() }
            return bytes[index]
        }

        private mutating func parseValue(depth: Int) throws(SyntaxError) {
            switch try peek() {
            case UInt8(ascii: "{"): try parseContainer(depth: depth, object: true)
            case UInt8(ascii: "["): try parseContainer(depth: depth, object: false)
            case UInt8(ascii: "\""): try parseString()
            case UInt8(ascii: "t"): try parseLiteral("true", .true)
            case UInt8(ascii: "f"): try parseLiteral("false", .false)
            case UInt8(ascii: "n"): try parseLiteral("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber()
            default: throw SyntaxError()
            }
        }

        private mutating func parseLiteral(_ word: StaticString, _ kind: Kind) throws(SyntaxError) {
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { throw SyntaxError() }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw SyntaxError() }
            entries.append(Entry(kind: kind, start: index, end: index + count))
            index += count
        }

        /// An object (members `"key": value`) or an array, a trailing comma allowed.
        private mutating func parseContainer(depth: Int, object: Bool) throws(SyntaxError) {
            guard depth < depthLimit else { throw SyntaxError() }
            let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let slot = entries.count
            entries.append(Entry(kind: object ? .object : .array, start: 0, end: 0))
            index += 1
            var count = 0
            skipWhitespace()
            if try peek() == close {
                index += 1
            } else {
                while true {
                    if object {
                        guard try peek() == UInt8(ascii: "\"") else { throw SyntaxError() }
                        try parseString()
                        skipWhitespace()
                        guard try peek() == UInt8(ascii: ":") else { throw SyntaxError() }
                        index += 1
                        skipWhitespace()
                    }
                    try parseValue(depth: depth + 1)
                    count += 1
                    skipWhitespace()
                    let byte = try peek()
                    index += 1
                    if byte == close { break }
                    guard byte == UInt8(ascii: ",") else { throw SyntaxError() }
                    skipWhitespace()
                    if try peek() == close {
                        index += 1
                        break
                    }
                }
            }
            entries[slot].start = count
            entries[slot].end = entries.count
        }

        /// A string: escapes and UTF-8 checked, its contents' range recorded.
        private mutating func parseString() throws(SyntaxError) {
            index += 1
            let start = index
            var escaped = false
            while true {
                guard index < bytes.count else { throw SyntaxError() }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\") {
                    escaped = true
                    try parseEscape()
                } else if byte < 0x20 {
                    throw SyntaxError()
                } else if byte < 0x80 {
                    index += 1
                } else {
                    try parseUTF8Sequence()
                }
            }
            entries.append(Entry(kind: escaped ? .escapedString : .string, start: start, end: index))
            index += 1
        }

        /// One escape at `index` (its backslash); a high surrogate must be followed by a low one.
        private mutating func parseEscape() throws(SyntaxError) {
            guard bytes.count - index >= 2 else { throw SyntaxError() }
            switch bytes[index + 1] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                index += 2
            case UInt8(ascii: "u"):
                let unit = try hexEscape(at: index)
                index += 6
                if (0xDC00...0xDFFF).contains(unit) { throw SyntaxError() }
                if (0xD800...0xDBFF).contains(unit) {
                    guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                          (0xDC00...0xDFFF).contains(try hexEscape(at: index))
                    else { throw SyntaxError() }
                    index += 6
                }
            default:
                throw SyntaxError()
            }
        }

        /// The code unit of `\uXXXX` at `at`.
        private func hexEscape(at start: Int) throws(SyntaxError) -> UInt16 {
            guard bytes.count - start >= 6 else { throw SyntaxError() }
            var value: UInt16 = 0
            for offset in 2..<6 {
                guard let digit = JSONTape.hexDigit(bytes[start + offset]) else { throw SyntaxError() }
                value = value << 4 | UInt16(digit)
            }
            return value
        }

        /// One multi-byte UTF-8 sequence at `index`: no overlong forms, surrogates or values
        /// above U+10FFFF.
        private mutating func parseUTF8Sequence() throws(SyntaxError) {
            let lead = bytes[index]
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: throw SyntaxError()
            }
            guard bytes.count - index >= length else { throw SyntaxError() }
            guard (low...high).contains(bytes[index + 1]) else { throw SyntaxError() }
            for offset in 2..<max(2, length) where !(0x80...0xBF).contains(bytes[index + offset]) { throw SyntaxError() }
            index += length
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        private mutating func parseNumber() throws(SyntaxError) {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { throw SyntaxError() }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                guard try skipDigits() > 0 else { throw SyntaxError() }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard try skipDigits() > 0 else { throw SyntaxError() }
            }
            if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard try skipDigits() > 0 else { throw SyntaxError() }
            }
            entries.append(Entry(kind: .number, start: start, end: index))
        }

        private mutating func skipDigits() throws(SyntaxError) -> Int {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - start
        }
    }
}
