import SwerveCore

/// A KServe v2 parameter value in JSON: a string, a number or a bool.
struct ParameterJSON: Decodable {
    var value: InferenceParameter

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bool = try? container.decode(Bool.self) {
            value = .bool(bool)
        } else if let int = try? container.decode(Int64.self) {
            value = .int(int)
        } else if let uint = try? container.decode(UInt64.self) {
            value = .uint(uint)
        } else if let double = try? container.decode(Double.self) {
            value = .double(double)
        } else if let string = try? container.decode(String.self) {
            value = .string(string)
        } else {
            throw DecodingError.typeMismatch(
                InferenceParameter.self,
                .init(codingPath: decoder.codingPath, debugDescription: "a parameter must be a string, a number or a boolean"))
        }
    }

    /// Converts a parameters object.
    static func convert(_ parameters: [String: ParameterJSON]?) -> [String: InferenceParameter] {
        parameters?.mapValues(\.value) ?? [:]
    }

    /// Writes parameters as a JSON object.
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
