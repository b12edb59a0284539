extension DataType {
    /// The data type as Triton's configuration enum.
    public var configType: Inference_DataType {
        switch self {
        case .bool: .typeBool
        case .uint8: .typeUint8
        case .uint16: .typeUint16
        case .uint32: .typeUint32
        case .uint64: .typeUint64
        case .int8: .typeInt8
        case .int16: .typeInt16
        case .int32: .typeInt32
        case .int64: .typeInt64
        case .fp16: .typeFp16
        case .bf16: .typeBf16
        case .fp32: .typeFp32
        case .fp64: .typeFp64
        case .bytes: .typeString
        }
    }

    /// The data type for Triton's configuration enum, or `nil` for `TYPE_INVALID`.
    public init?(configType: Inference_DataType) {
        guard let match = DataType.allCases.first(where: { $0.configType == configType }) else { return nil }
        self = match
    }
}
