import SwerveCore

/// The element type codes of the shim's interface (`SWERVE_TORCH_*` in swerve_torch_shim.h) and
/// the KServe data types they carry.
///
/// Torch has no tensors of strings, and its unsigned 16-, 32- and 64-bit types are shells that
/// almost no operator accepts, so BYTES, UINT16, UINT32 and UINT64 have no code.
enum TorchElementType {
    /// The shim's code for a KServe data type, or `nil` when torch cannot take it.
    static func code(of dataType: DataType) -> Int32? {
        switch dataType {
        case .bool: 0
        case .uint8: 1
        case .int8: 2
        case .int16: 3
        case .int32: 4
        case .int64: 5
        case .fp16: 6
        case .bf16: 7
        case .fp32: 8
        case .fp64: 9
        case .uint16, .uint32, .uint64, .bytes: nil
        }
    }

    /// The KServe data type of a shim code, or `nil` for an unknown code.
    static func dataType(of code: Int32) -> DataType? {
        DataType.allCases.first { self.code(of: $0) == code }
    }
}
