/// A request or tensor parameter value, as KServe v2 allows them (string, number or bool).
public enum InferenceParameter: Sendable, Equatable {
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)

    /// The value as an integer, when it is one (or a double without fraction).
    public var intValue: Int64? {
        switch self {
        case .int(let v): v
        case .uint(let v): Int64(exactly: v)
        case .double(let v): Int64(exactly: v)
        default: nil
        }
    }

    /// The value as a bool, when it is one.
    public var boolValue: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }
}
