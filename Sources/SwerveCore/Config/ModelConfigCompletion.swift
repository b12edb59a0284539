/// Completes a model's configuration from its model file and checks that the two agree, the way
/// Triton's auto-complete does for ONNX models: names, data types and dims come from the model
/// where the configuration leaves them out, and any contradiction fails the load with a message
/// that names the configuration field.
public struct ModelConfigCompletion: Sendable {
    /// The batch size allowed when the configuration does not set `max_batch_size` and every
    /// input and output of the model has a variable first dimension.
    public var defaultMaxBatchSize: Int

    /// The most instances one model version may have; each is a session with its own memory.
    public static let maxInstances: Int32 = 64

    /// Creates a completion policy.
    public init(defaultMaxBatchSize: Int = 64) {
        self.defaultMaxBatchSize = defaultMaxBatchSize
    }

    /// The completed configuration and the resulting input/output description.
    public struct Result: Sendable {
        /// The configuration as served by the config endpoint.
        public var config: Inference_ModelConfig
        /// The inputs and outputs requests are validated against.
        public var io: ModelIO
    }

    /// Completes `parsed` (or an empty configuration) for the model `name` with `signature`.
    /// - Throws: ``SwerveError`` (`invalidArgument`) naming the configuration field at fault.
    public func complete(
        _ parsed: ModelConfigText.Parsed?, modelName name: String, signature: ModelSignature, backend: any InferenceBackend
    ) throws -> Result {
        var config = parsed?.config ?? Inference_ModelConfig()
        let explicit = parsed?.explicitFields ?? []

        if config.name.isEmpty {
            config.name = name
        } else if config.name != name {
            throw SwerveError.invalid("config field 'name': config says '\(config.name)' but the model directory is '\(name)'; make them equal or remove the field")
        }
        if config.platform.isEmpty, config.backend.isEmpty || config.backend == backend.name {
            config.platform = backend.platform
        }
        if config.platform != backend.platform {
            throw SwerveError.invalid("config field 'platform': '\(config.platform)' is not served here; use '\(backend.platform)' (or leave it out)")
        }
        if config.backend.isEmpty {
            config.backend = backend.name
        } else if config.backend != backend.name {
            throw SwerveError.invalid("config field 'backend': '\(config.backend)' is not served here; use '\(backend.name)' (or leave it out)")
        }
        if config.defaultModelFilename.isEmpty {
            config.defaultModelFilename = backend.defaultModelFilename
        }
        if !config.hasVersionPolicy || config.versionPolicy.policyChoice == nil {
            var latest = Inference_ModelVersionPolicy.Latest()
            latest.numVersions = 1
            config.versionPolicy.latest = latest
        }
        if config.instanceGroup.isEmpty {
            var group = Inference_ModelInstanceGroup()
            group.name = name
            group.kind = .cpu
            group.count = 1
            config.instanceGroup = [group]
        }
        for index in config.instanceGroup.indices {
            if config.instanceGroup[index].count == 0 { config.instanceGroup[index].count = 1 }
            if config.instanceGroup[index].name.isEmpty { config.instanceGroup[index].name = "\(name)_\(index)" }
            if config.instanceGroup[index].count < 0 || config.instanceGroup[index].count > Self.maxInstances {
                throw SwerveError.invalid(
                    "config field 'instance_group[\(index)].count': \(config.instanceGroup[index].count) must be between 1 and \(Self.maxInstances)")
            }
            if config.instanceGroup[index].kind == .auto { config.instanceGroup[index].kind = .cpu }
            if config.instanceGroup[index].kind == .gpu {
                throw SwerveError.invalid("config field 'instance_group[\(index)].kind': KIND_GPU is not available in this server; use KIND_CPU")
            }
        }

        let totalInstances = config.instanceGroup.reduce(0) { $0 + Int($1.count) }
        if totalInstances > Int(Self.maxInstances) {
            throw SwerveError.invalid("config field 'instance_group': \(totalInstances) instances in all; at most \(Self.maxInstances)")
        }

        // Batching: explicit value wins; otherwise batch when every tensor has a variable first dimension.
        let allTensors = signature.inputs + signature.outputs
        let modelCanBatch = !allTensors.isEmpty && allTensors.allSatisfy { ($0.shape.first ?? 0) == -1 }
        if config.maxBatchSize < 0 {
            throw SwerveError.invalid("config field 'max_batch_size': \(config.maxBatchSize) must be 0 or positive")
        }
        if !explicit.contains("max_batch_size") {
            let dimsMatchWithoutBatch = config.input.allSatisfy { input in
                guard let model = signature.inputs.first(where: { $0.name == input.name }) else { return true }
                return input.dims.isEmpty || input.dims.count == model.shape.count - 1
            }
            config.maxBatchSize = modelCanBatch && dimsMatchWithoutBatch ? Int32(defaultMaxBatchSize) : 0
        }
        let batching = config.maxBatchSize > 0
        if batching, !explicit.contains("max_batch_size"), config.schedulingChoice == nil {
            // As Triton's auto-complete does: a model that can batch gets the dynamic batcher.
            // Merged batches stop at 8 rows: on a few cores a bigger batch of a heavy model only
            // makes every request in it wait longer (requests may still carry up to max_batch_size).
            var dynamic = Inference_ModelDynamicBatching()
            dynamic.preferredBatchSize = [Int32(min(8, Int(config.maxBatchSize)))]
            config.dynamicBatching = dynamic
        }
        if case .dynamicBatching(let dynamic)? = config.schedulingChoice {
            for (index, size) in dynamic.preferredBatchSize.enumerated() where size < 1 || (batching && size > config.maxBatchSize) {
                throw SwerveError.invalid(
                    "config field 'dynamic_batching.preferred_batch_size[\(index)]': \(size) must be between 1 and max_batch_size \(config.maxBatchSize)")
            }
        }
        if batching && !modelCanBatch {
            let fixed = allTensors.first { ($0.shape.first ?? 0) != -1 }!
            throw SwerveError.invalid(
                "config field 'max_batch_size': \(config.maxBatchSize) needs a variable first dimension on every input and output, but '\(fixed.name)' has shape \(Shape.describe(fixed.shape)); set max_batch_size: 0 and list the full dims"
            )
        }

        let inputs = try completeTensors(
            kind: "input", configured: config.input.map { ($0.name, $0.dataType, $0.dims.map(Int.init), $0.hasReshape) },
            model: signature.inputs, unsupported: [], batching: batching)
        let outputs = try completeTensors(
            kind: "output", configured: config.output.map { ($0.name, $0.dataType, $0.dims.map(Int.init), $0.hasReshape) },
            model: signature.outputs, unsupported: signature.unsupportedOutputs, batching: batching)

        var configInputs: [Inference_ModelInput] = []
        for spec in inputs {
            var input = config.input.first { $0.name == spec.name } ?? Inference_ModelInput()
            input.name = spec.name
            input.dataType = spec.dataType.configType
            input.dims = (batching ? Array(spec.shape.dropFirst()) : spec.shape).map(Int64.init)
            configInputs.append(input)
        }
        config.input = configInputs
        var configOutputs: [Inference_ModelOutput] = []
        for spec in outputs {
            var output = config.output.first { $0.name == spec.name } ?? Inference_ModelOutput()
            output.name = spec.name
            output.dataType = spec.dataType.configType
            output.dims = (batching ? Array(spec.shape.dropFirst()) : spec.shape).map(Int64.init)
            configOutputs.append(output)
        }
        config.output = configOutputs

        let optional = Set(config.input.filter(\.optional).map(\.name))
        let io = ModelIO(maxBatchSize: Int(config.maxBatchSize), inputs: inputs, outputs: outputs, optionalInputs: optional)
        return Result(config: config, io: io)
    }

    /// Merges configured tensors with the model's, in the model's order, checking names, types and dims.
    private func completeTensors(
        kind: String, configured: [(name: String, type: Inference_DataType, dims: [Int], reshaped: Bool)],
        model: [TensorSpec], unsupported: [UnsupportedTensor], batching: Bool
    ) throws -> [TensorSpec] {
        var seen = Set<String>()
        var byName: [String: (index: Int, type: Inference_DataType, dims: [Int], reshaped: Bool)] = [:]
        for (index, entry) in configured.enumerated() {
            let field = "\(kind)[\(index)]"
            guard !entry.name.isEmpty else {
                throw SwerveError.invalid("config field '\(field).name': every \(kind) needs a name")
            }
            guard seen.insert(entry.name).inserted else {
                throw SwerveError.invalid("config field '\(field).name': '\(entry.name)' is listed twice")
            }
            if let bad = unsupported.first(where: { $0.name == entry.name }) {
                throw SwerveError.invalid("config field '\(field).name': '\(entry.name)' cannot be served: \(bad.reason)")
            }
            guard model.contains(where: { $0.name == entry.name }) else {
                let names = model.map { "'\($0.name)'" }.joined(separator: ", ")
                throw SwerveError.invalid("config field '\(field).name': '\(entry.name)' is not an \(kind) of the model; the model's \(kind)s are \(names)")
            }
            byName[entry.name] = (index, entry.type, entry.dims, entry.reshaped)
        }

        return try model.map { spec in
            guard let entry = byName[spec.name] else {
                return spec
            }
            let field = "\(kind)[\(entry.index)]"
            if entry.type != .typeInvalid {
                guard let configured = DataType(configType: entry.type) else {
                    throw SwerveError.invalid("config field '\(field).data_type': unknown data type")
                }
                guard configured == spec.dataType else {
                    throw SwerveError.invalid(
                        "config field '\(field).data_type': config says \(configured.configName) but the model's \(kind) '\(spec.name)' is \(spec.dataType.configName)"
                    )
                }
            }
            if entry.dims.isEmpty || entry.reshaped {
                return spec
            }
            let full = batching ? [-1] + entry.dims : entry.dims
            guard full.count == spec.shape.count else {
                let expected = batching ? Array(spec.shape.dropFirst()) : spec.shape
                throw SwerveError.invalid(
                    "config field '\(field).dims': \(Shape.describe(entry.dims)) has rank \(entry.dims.count) but the model's \(kind) '\(spec.name)' has shape \(Shape.describe(spec.shape))\(batching ? " (the batch dimension is implicit with max_batch_size > 0)" : ""); use \(Shape.describe(expected))"
                )
            }
            var merged = spec.shape
            for (axis, (configDim, modelDim)) in zip(full, spec.shape).enumerated() {
                if configDim < -1 || configDim == 0 && modelDim != 0 {
                    throw SwerveError.invalid("config field '\(field).dims': dimension \(configDim) is not valid; use a positive size or -1")
                }
                if modelDim == -1 {
                    merged[axis] = configDim
                } else if configDim != -1, configDim != modelDim {
                    throw SwerveError.invalid(
                        "config field '\(field).dims': dimension \(axis - (batching ? 1 : 0)) is \(configDim) but the model's \(kind) '\(spec.name)' has \(modelDim) there (model shape \(Shape.describe(spec.shape)))"
                    )
                }
            }
            return TensorSpec(name: spec.name, dataType: spec.dataType, shape: merged)
        }
    }
}
