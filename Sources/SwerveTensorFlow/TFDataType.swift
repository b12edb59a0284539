import SwerveCore

/// TensorFlow's data types (`TF_DataType` in `tf_datatype.h`, the same numbers as the `DataType`
/// enum of `types.proto`) and their KServe names.
enum TFDataType {
    /// The `TF_DataType` of a KServe data type (BYTES is TensorFlow's STRING, FP16 its HALF).
    static func code(of dataType: DataType) -> Int32 {
        switch dataType {
        case .fp32: 1
        case .fp64: 2
        case .int32: 3
        case .uint8: 4
        case .int16: 5
        case .int8: 6
        case .bytes: 7
        case .int64: 9
        case .bool: 10
        case .bf16: 14
        case .uint16: 17
        case .fp16: 19
        case .uint32: 22
        case .uint64: 23
        }
    }

    /// The KServe data type of a `TF_DataType`, or `nil` when KServe has none (complex, quantized,
    /// resource, variant, 8-, 4- and 2-bit types).
    static func dataType(of code: Int32) -> DataType? {
        switch code {
        case 1: .fp32
        case 2: .fp64
        case 3: .int32
        case 4: .uint8
        case 5: .int16
        case 6: .int8
        case 7: .bytes
        case 9: .int64
        case 10: .bool
        case 14: .bf16
        case 17: .uint16
        case 19: .fp16
        case 22: .uint32
        case 23: .uint64
        default: nil
        }
    }

    /// TensorFlow's name for a data type, for messages (`DT_COMPLEX64`, `DT_RESOURCE`, ...).
    static func name(of code: Int) -> String {
        let names = [
            "DT_INVALID", "DT_FLOAT", "DT_DOUBLE", "DT_INT32", "DT_UINT8", "DT_INT16", "DT_INT8", "DT_STRING",
            "DT_COMPLEX64", "DT_INT64", "DT_BOOL", "DT_QINT8", "DT_QUINT8", "DT_QINT32", "DT_BFLOAT16",
            "DT_QINT16", "DT_QUINT16", "DT_UINT16", "DT_COMPLEX128", "DT_HALF", "DT_RESOURCE", "DT_VARIANT",
            "DT_UINT32", "DT_UINT64", "DT_FLOAT8_E5M2", "DT_FLOAT8_E4M3FN", "DT_FLOAT8_E4M3FNUZ",
            "DT_FLOAT8_E4M3B11FNUZ", "DT_FLOAT8_E5M2FNUZ", "DT_INT4", "DT_UINT4", "DT_INT2", "DT_UINT2",
            "DT_FLOAT4_E2M1FN",
        ]
        return names.indices.contains(code) ? names[code] : "data type \(code)"
    }
}
