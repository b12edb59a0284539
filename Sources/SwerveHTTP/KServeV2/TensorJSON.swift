import SwerveCore

/// Writes tensor elements as JSON (`data` arrays) straight out of a tensor's byte buffer
/// (``InferRequestJSON`` reads them).
enum TensorJSON {
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
