import SwerveCore

extension Inference_InferParameter {
    /// The parameter as the core holds it, or `nil` when no value is set.
    var coreValue: InferenceParameter? {
        switch parameterChoice {
        case .boolParam(let value): .bool(value)
        case .int64Param(let value): .int(value)
        case .uint64Param(let value): .uint(value)
        case .doubleParam(let value): .double(value)
        case .stringParam(let value): .string(value)
        case nil: nil
        }
    }

    /// The wire form of a core parameter.
    init(_ value: InferenceParameter) {
        self.init()
        switch value {
        case .bool(let value): parameterChoice = .boolParam(value)
        case .int(let value): parameterChoice = .int64Param(value)
        case .uint(let value): parameterChoice = .uint64Param(value)
        case .double(let value): parameterChoice = .doubleParam(value)
        case .string(let value): parameterChoice = .stringParam(value)
        }
    }
}

/// Parameter maps between the wire and the core.
enum InferParameters {
    /// The core parameters of a wire map; entries without a value are left out.
    static func core(_ parameters: [String: Inference_InferParameter]) -> [String: InferenceParameter] {
        parameters.compactMapValues(\.coreValue)
    }

    /// The wire map of core parameters.
    static func wire(_ parameters: [String: InferenceParameter]) -> [String: Inference_InferParameter] {
        parameters.mapValues(Inference_InferParameter.init)
    }
}
