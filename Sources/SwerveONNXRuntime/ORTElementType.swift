import SwerveCore

/// ONNX Runtime's tensor element types (`ONNXTensorElementDataType`, PROTOCOLS.md §8.3) and
/// their KServe names.
enum ORTElementType {
    /// The ORT element type code of a KServe data type (BYTES is ORT's STRING).
    static func code(of dataType: DataType) -> Int32 {
        switch dataType {
        case .fp32: 1
        case .uint8: 2
        case .int8: 3
        case .uint16: 4
        case .int16: 5
        case .int32: 6
        case .int64: 7
        case .bytes: 8
        case .bool: 9
        case .fp16: 10
        case .fp64: 11
        case .uint32: 12
        case .uint64: 13
        case .bf16: 16
        }
    }

    /// The KServe data type of an ORT element type code, or `nil` when KServe has none
    /// (complex numbers, 8-, 4- and 2-bit types).
    static func dataType(of code: Int32) -> DataType? {
        switch code {
        case 1: .fp32
        case 2: .uint8
        case 3: .int8
        case 4: .uint16
        case 5: .int16
        case 6: .int32
        case 7: .int64
        case 8: .bytes
        case 9: .bool
        case 10: .fp16
        case 11: .fp64
        case 12: .uint32
        case 13: .uint64
        case 16: .bf16
        default: nil
        }
    }

    /// ONNX's name for an element type code, for messages (`COMPLEX64`, `FLOAT8E4M3FN`, ...).
    static func name(of code: Int32) -> String {
        let names = [
            "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL",
            "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
            "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4",
            "FLOAT4E2M1", "UINT2", "INT2", "FLOAT8E8M0",
        ]
        return names.indices.contains(Int(code)) ? names[Int(code)] : "element type \(code)"
    }
}
