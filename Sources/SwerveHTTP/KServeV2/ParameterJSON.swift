import SwerveCore

/// A KServe v2 parameter value in JSON: a string, a number or a bool.
struct ParameterJSON {
    var value: InferenceParameter

    /// Converts a parameters object.
    static func convert(_ parameters: [String: ParameterJSON]?) -> [String: InferenceParameter] {
        parameters?.mapValues(\.value) ?? [:]
    }

    /// Writes parameters as a JSON object, keys in ascending order.
    static func write(_ parameters: [String: InferenceParameter], to writer: inout JSONWriter) {
        writer.raw("{")
        for (index, (key, value)) in parameters.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(key)
            writer.raw(":")
            switch value {
            case .bool(let v): writer.bool(v)
            case .int(let v): writer.number(v)
            case .uint(let v): writer.number(v)
            case .double(let v): writer.number(v)
            case .string(let v): writer.string(v)
            }
        }
        writer.raw("}")
    }
}
