/// The element type of a tensor, named as KServe v2 names it (`"FP32"`, `"BYTES"`, ...).
///
/// Every frontend speaks these names; backends map them onto their own type codes.
public enum DataType: String, Sendable, CaseIterable, Hashable {
    case bool = "BOOL"
    case uint8 = "UINT8"
    case uint16 = "UINT16"
    case uint32 = "UINT32"
    case uint64 = "UINT64"
    case int8 = "INT8"
    case int16 = "INT16"
    case int32 = "INT32"
    case int64 = "INT64"
    case fp16 = "FP16"
    case bf16 = "BF16"
    case fp32 = "FP32"
    case fp64 = "FP64"
    /// Variable-length byte strings. In a ``Tensor`` buffer each element is a little-endian
    /// `UInt32` length followed by that many bytes (the KServe v2 binary encoding).
    case bytes = "BYTES"

    /// Bytes per element, or `nil` for ``bytes`` whose elements vary in length.
    public var byteSize: Int? {
        switch self {
        case .bool, .uint8, .int8: 1
        case .uint16, .int16, .fp16, .bf16: 2
        case .uint32, .int32, .fp32: 4
        case .uint64, .int64, .fp64: 8
        case .bytes: nil
        }
    }

    /// The name Triton's model configuration uses (`TYPE_FP32`, `TYPE_STRING` for BYTES).
    public var configName: String {
        self == .bytes ? "TYPE_STRING" : "TYPE_" + rawValue
    }

    /// Parses Triton's configuration name (`TYPE_FP32`, `TYPE_STRING`).
    public init?(configName: String) {
        if configName == "TYPE_STRING" {
            self = .bytes
            return
        }
        guard configName.hasPrefix("TYPE_"), let value = DataType(rawValue: String(configName.dropFirst(5))) else {
            return nil
        }
        self = value
    }
}
