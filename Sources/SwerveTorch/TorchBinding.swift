import SwerveCore

/// How the inputs and outputs config.pbtxt declares map onto a TorchScript module's `forward`:
/// which argument each input is, and which of the returned tensors each output is.
///
/// The rules are those of Triton's `pytorch_libtorch` backend. Inputs: when every input is named
/// after one of `forward`'s arguments, each is that argument; else when every name has the form
/// `<name>__<index>` (`INPUT__0`), each is argument `index`; else they are the arguments in
/// config order. Outputs: when every name has the form `<name>__<index>` (`OUTPUT__1`), each is
/// element `index` of the returned tuple or list (a single tensor is element 0); else they are
/// the elements in config order.
struct TorchBinding: Sendable, Equatable {
    /// An input as config.pbtxt declares it, and the argument of `forward` it is.
    struct Input: Sendable, Equatable {
        /// The name, element type and full shape (`-1` first when batching).
        var spec: TensorSpec
        /// The argument's position, `self` not counted.
        var argument: Int
        /// The element type's code in the shim's interface.
        var typeCode: Int32
    }

    /// An output as config.pbtxt declares it, and the position of its tensor in what `forward` returns.
    struct Output: Sendable, Equatable {
        /// The name, element type and full shape (`-1` first when batching).
        var spec: TensorSpec
        /// The tensor's position in the returned tuple or list (0 for a single tensor).
        var index: Int
    }

    /// The inputs, in config order.
    var inputs: [Input]
    /// The outputs, in config order.
    var outputs: [Output]

    /// The signature the backend reports: the configured inputs and outputs, in config order.
    var signature: ModelSignature {
        ModelSignature(inputs: inputs.map(\.spec), outputs: outputs.map(\.spec))
    }

    /// Reads the inputs and outputs from `config` and maps them onto `forward`.
    /// - Throws: ``SwerveError`` (`invalidArgument`) saying what config.pbtxt must declare (with an
    ///   example) when it declares no inputs or outputs, or naming the field or the argument at fault.
    init(config: Inference_ModelConfig?, forward: TorchForwardSchema) throws(SwerveError) {
        guard let config, !config.input.isEmpty, !config.output.isEmpty else {
            throw SwerveError.invalid(Self.configRequiredMessage(forward: forward, config: config))
        }
        for (name, type) in zip(forward.argumentNames, forward.argumentTypes) where type != "Tensor" {
            throw SwerveError.invalid(
                "forward's argument '\(name)' is \(type); only models whose forward takes tensors can be served")
        }
        if case .other(let type) = forward.returns {
            throw SwerveError.invalid(
                "forward returns \(type); only a Tensor, or a tuple or list of Tensors, can be served")
        }
        guard config.input.count == forward.argumentNames.count else {
            throw SwerveError.invalid(
                "config.pbtxt lists \(config.input.count) inputs but forward takes \(forward.argumentNames.count) (\(Self.describe(forward.argumentNames)))")
        }
        let batching = config.maxBatchSize > 0

        let inputNames = config.input.map(\.name)
        let arguments: [Int]
        if inputNames.allSatisfy(forward.argumentNames.contains) {
            arguments = inputNames.map { forward.argumentNames.firstIndex(of: $0)! }
        } else if let indices = Self.namedIndices(inputNames) {
            arguments = indices
        } else {
            arguments = Array(inputNames.indices)
        }
        inputs = try config.input.enumerated().map { (position, input) throws(SwerveError) in
            let field = "input[\(position)]"
            if input.hasReshape {
                throw SwerveError.invalid("config field '\(field).reshape' is not supported for pytorch_libtorch models; give the dims forward takes")
            }
            if input.optional {
                throw SwerveError.invalid("config field '\(field).optional': every argument of forward must be given, so no input can be optional")
            }
            let type = try Self.dataType(input.dataType, field: field)
            guard let code = TorchElementType.code(of: type) else {
                throw SwerveError.invalid(Self.unsupportedTypeMessage(type, field: field))
            }
            let argument = arguments[position]
            guard argument < forward.argumentNames.count else {
                throw SwerveError.invalid(
                    "config field '\(field).name': '\(input.name)' names argument \(argument) but forward takes \(forward.argumentNames.count) (\(Self.describe(forward.argumentNames)))")
            }
            if let earlier = arguments[..<position].firstIndex(of: argument) {
                throw SwerveError.invalid(
                    "config field '\(field).name': '\(input.name)' and '\(inputNames[earlier])' both name argument \(argument) of forward")
            }
            let shape = (batching ? [-1] : []) + input.dims.map { Int($0) }
            return Input(spec: TensorSpec(name: input.name, dataType: type, shape: shape), argument: argument, typeCode: code)
        }

        let outputNames = config.output.map(\.name)
        let indices = Self.namedIndices(outputNames) ?? Array(outputNames.indices)
        outputs = try config.output.enumerated().map { (position, output) throws(SwerveError) in
            let field = "output[\(position)]"
            if output.hasReshape {
                throw SwerveError.invalid("config field '\(field).reshape' is not supported for pytorch_libtorch models; give the dims forward returns")
            }
            let type = try Self.dataType(output.dataType, field: field)
            if TorchElementType.code(of: type) == nil {
                throw SwerveError.invalid(Self.unsupportedTypeMessage(type, field: field))
            }
            let index = indices[position]
            if let count = forward.returnCount, index >= count {
                throw SwerveError.invalid(
                    "config field '\(field).name': '\(output.name)' is result \(index) but forward returns \(count == 1 ? "one tensor" : "\(count) tensors") (\(Self.returnDescription(forward)))")
            }
            if let earlier = indices[..<position].firstIndex(of: index) {
                throw SwerveError.invalid(
                    "config field '\(field).name': '\(output.name)' and '\(outputNames[earlier])' both name result \(index) of forward")
            }
            let shape = (batching ? [-1] : []) + output.dims.map { Int($0) }
            return Output(spec: TensorSpec(name: output.name, dataType: type, shape: shape), index: index)
        }
    }

    /// The index of each `<name>__<index>` name, or `nil` unless every name has that form
    /// (the first `__` followed by decimal digits only, as Triton reads it).
    static func namedIndices(_ names: [String]) -> [Int]? {
        var result: [Int] = []
        for name in names {
            guard let separator = name.range(of: "__") else { return nil }
            let digits = name[separator.upperBound...]
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let index = Int(digits) else {
                return nil
            }
            result.append(index)
        }
        return result
    }

    private static func dataType(_ type: Inference_DataType, field: String) throws(SwerveError) -> DataType {
        guard let dataType = DataType(configType: type) else {
            throw SwerveError.invalid(
                "config field '\(field).data_type' is required for pytorch_libtorch models (TorchScript does not declare it), e.g. TYPE_FP32")
        }
        return dataType
    }

    private static func unsupportedTypeMessage(_ type: DataType, field: String) -> String {
        if type == .bytes {
            return "config field '\(field).data_type': TYPE_STRING is not supported for pytorch_libtorch models (torch has no tensors of strings)"
        }
        return "config field '\(field).data_type': \(type.configName) is not supported for pytorch_libtorch models (torch has no usable \(type.rawValue) tensors); use a signed type such as TYPE_INT32 or TYPE_INT64"
    }

    private static func describe(_ names: [String]) -> String {
        names.isEmpty ? "no arguments" : names.joined(separator: ", ")
    }

    private static func returnDescription(_ forward: TorchForwardSchema) -> String {
        switch forward.returns {
        case .tensor: "Tensor"
        case .tuple(let count): "a tuple of \(count)"
        case .list: "a list"
        case .other(let type): type
        }
    }

    /// What config.pbtxt must declare, with an example that uses `forward`'s argument count.
    static func configRequiredMessage(forward: TorchForwardSchema, config: Inference_ModelConfig?) -> String {
        let missing = config == nil ? "there is no config.pbtxt" : config!.input.isEmpty ? "config.pbtxt lists no input" : "config.pbtxt lists no output"
        let inputs = (0..<max(1, forward.argumentNames.count)).map { index in
            "  { name: \"INPUT__\(index)\" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] }"
        }.joined(separator: ",\n")
        return """
            a TorchScript model does not declare its inputs and outputs, so config.pbtxt must list them, \
            and \(missing). Declare max_batch_size and each input and output's name, data_type and dims \
            (without the batch dimension when max_batch_size > 0), for example:
            platform: "pytorch_libtorch"
            max_batch_size: 8
            input [
            \(inputs)
            ]
            output [
              { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 1000 ] }
            ]
            INPUT__<i> is forward's argument i (\(describe(forward.argumentNames))) and OUTPUT__<i> its \
            result i; inputs may also be named as forward's arguments; other names map in config order.
            """
    }
}
