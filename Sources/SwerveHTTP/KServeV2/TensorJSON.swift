import SwerveCore

/// Reads and writes tensor elements as JSON (`data` arrays), straight into and out of a tensor's
/// byte buffer.
enum TensorJSON {
    /// Decodes `data` (flat or nested arrays, row-major) of `dataType` into a buffer.
    ///
    /// Nothing is allocated from the declared shape: the buffer grows with the elements actually
    /// present, so a shape that lies costs nothing.
    /// - Returns: the buffer and the number of elements read.
    static func decode(_ decoder: any Decoder, dataType: DataType, expectedCount: Int) throws -> (bytes: [UInt8], count: Int) {
        switch dataType {
        case .bool: return try decode(decoder, Bool.self, expectedCount) { $1.append($0 ? 1 : 0) }
        case .uint8: return try decode(decoder, UInt8.self, expectedCount) { $1.append($0) }
        case .int8: return try decode(decoder, Int8.self, expectedCount) { $1.append(UInt8(bitPattern: $0)) }
        case .uint16: return try decode(decoder, UInt16.self, expectedCount, appendInteger)
        case .int16: return try decode(decoder, Int16.self, expectedCount, appendInteger)
        case .uint32: return try decode(decoder, UInt32.self, expectedCount, appendInteger)
        case .int32: return try decode(decoder, Int32.self, expectedCount, appendInteger)
        case .uint64: return try decode(decoder, UInt64.self, expectedCount, appendInteger)
        case .int64: return try decode(decoder, Int64.self, expectedCount, appendInteger)
        case .fp32: return try decode(decoder, Float.self, expectedCount) { appendInteger($0.bitPattern, to: &$1) }
        case .fp64: return try decode(decoder, Double.self, expectedCount) { appendInteger($0.bitPattern, to: &$1) }
        case .fp16: return try decode(decoder, Float.self, expectedCount) { appendInteger(Float16($0).bitPattern, to: &$1) }
        case .bf16: return try decode(decoder, Float.self, expectedCount) { appendInteger(BFloat16.bits(of: $0), to: &$1) }
        case .bytes: return try decode(decoder, String.self, expectedCount) { BytesCodec.append($0.utf8, to: &$1) }
        }
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func decode<T: Decodable>(
        _ decoder: any Decoder, _ type: T.Type, _ expectedCount: Int, _ append: (T, inout [UInt8]) -> Void
    ) throws -> (bytes: [UInt8], count: Int) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(expectedCount, 1 << 16) * (MemoryLayout<T>.size))
        var count = 0
        // Fast path: a flat array of elements.
        if let flat = try? decoder.singleValueContainer().decode([T].self) {
            for value in flat { append(value, &bytes) }
            return (bytes, flat.count)
        }
        try decodeNested(decoder, depth: 0) { element in
            let value = try element.singleValueContainer().decode(T.self)
            append(value, &bytes)
            count += 1
        }
        return (bytes, count)
    }

    /// Walks nested arrays in row-major order, calling `element` for each leaf.
    private static func decodeNested(_ decoder: any Decoder, depth: Int, _ element: (any Decoder) throws -> Void) throws {
        guard depth < 64 else {
            throw SwerveError.invalid("tensor data is nested more than 64 levels deep")
        }
        guard var container = try? decoder.unkeyedContainer() else {
            // A single value where an array was expected: accept it as one element.
            try element(decoder)
            return
        }
        while !container.isAtEnd {
            let child = try container.superDecoder()
            if (try? child.unkeyedContainer()) != nil {
                try decodeNested(child, depth: depth + 1, element)
            } else {
                try element(child)
            }
        }
    }

    /// Writes a tensor's elements as a flat JSON array.
    static func write(_ tensor: Tensor, name: String, to writer: inout JSONWriter) throws {
        writer.raw("[")
        let data = tensor.data
        func each<T>(_ type: T.Type, _ body: (T, inout JSONWriter) -> Void) {
            let stride = MemoryLayout<T>.size
            data.withUnsafeBytes { raw in
                var offset = 0
                while offset + stride <= raw.count {
                    if offset > 0 { writer.raw(",") }
                    body(raw.loadUnaligned(fromByteOffset: offset, as: T.self), &writer)
                    offset += stride
                }
            }
        }
        switch tensor.dataType {
        case .bool: each(UInt8.self) { $1.bool($0 != 0) }
        case .uint8: each(UInt8.self) { $1.number($0) }
        case .int8: each(Int8.self) { $1.number($0) }
        case .uint16: each(UInt16.self) { $1.number(UInt16(littleEndian: $0)) }
        case .int16: each(Int16.self) { $1.number(Int16(littleEndian: $0)) }
        case .uint32: each(UInt32.self) { $1.number(UInt32(littleEndian: $0)) }
        case .int32: each(Int32.self) { $1.number(Int32(littleEndian: $0)) }
        case .uint64: each(UInt64.self) { $1.number(UInt64(littleEndian: $0)) }
        case .int64: each(Int64.self) { $1.number(Int64(littleEndian: $0)) }
        case .fp32: each(UInt32.self) { $1.number(Float(bitPattern: UInt32(littleEndian: $0))) }
        case .fp64: each(UInt64.self) { $1.number(Double(bitPattern: UInt64(littleEndian: $0))) }
        case .fp16: each(UInt16.self) { $1.number(Float(Float16(bitPattern: UInt16(littleEndian: $0)))) }
        case .bf16: each(UInt16.self) { $1.number(Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16)) }
        case .bytes:
            var first = true
            try BytesCodec.forEachElement(in: data, tensorName: name) { range in
                if !first { writer.raw(",") }
                first = false
                writer.string(utf8: data[range])
            }
        }
        writer.raw("]")
    }
}

/// bfloat16: the top 16 bits of an IEEE float32.
enum BFloat16 {
    /// Rounds a float to bfloat16 (to nearest, ties to even) and returns its bits.
    static func bits(of value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        let rounding: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }
}
