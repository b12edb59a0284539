/// Encoding and decoding of ``DataType/bytes`` tensor buffers: each element a little-endian
/// `UInt32` length and then that many bytes.
public enum BytesCodec {
    /// Encodes a list of byte strings into one buffer.
    public static func encode<C: Collection>(_ elements: C) -> [UInt8] where C.Element: Collection, C.Element.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(elements.reduce(0) { $0 + 4 + $1.count })
        for element in elements {
            append(element, to: &out)
        }
        return out
    }

    /// Appends one element (length prefix and bytes) to `buffer`.
    public static func append<C: Collection>(_ element: C, to buffer: inout [UInt8]) where C.Element == UInt8 {
        let length = UInt32(truncatingIfNeeded: element.count)
        withUnsafeBytes(of: length.littleEndian) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: element)
    }

    /// Counts the elements of an encoded buffer, checking every length prefix.
    /// - Throws: `invalidArgument` when a prefix is truncated or points past the end.
    public static func countElements(in data: [UInt8], tensorName: String) throws -> Int {
        var count = 0
        try forEachElement(in: data, tensorName: tensorName) { _ in count += 1 }
        return count
    }

    /// Calls `body` with the byte range of each element of an encoded buffer.
    /// - Throws: `invalidArgument` when a prefix is truncated or points past the end.
    public static func forEachElement(
        in data: [UInt8], tensorName: String, _ body: (Range<Int>) throws -> Void
    ) throws {
        var offset = 0
        while offset < data.count {
            guard data.count - offset >= 4 else {
                throw SwerveError.invalid("BYTES tensor '\(tensorName)': truncated length prefix at byte \(offset)")
            }
            let length = Int(data[offset]) | Int(data[offset + 1]) << 8 | Int(data[offset + 2]) << 16 | Int(data[offset + 3]) << 24
            let start = offset + 4
            guard length <= data.count - start else {
                throw SwerveError.invalid(
                    "BYTES tensor '\(tensorName)': element at byte \(offset) declares \(length) bytes but only \(data.count - start) remain"
                )
            }
            try body(start..<(start + length))
            offset = start + length
        }
    }

    /// Splits an encoded buffer into its elements.
    public static func decode(_ data: [UInt8], tensorName: String) throws -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        try forEachElement(in: data, tensorName: tensorName) { out.append(data[$0]) }
        return out
    }
}
