import Logging

/// Runs each new instance before its version is marked ready, so the first client request is
/// not the slow one: Triton's `model_warmup` samples when the configuration has them, otherwise
/// one run per instance on zeros with every variable dimension set to 1.
enum Warmup {
    /// The most bytes one warm-up input may take.
    static let maxInputBytes = 256 << 20
    /// The most runs one warm-up sample may ask for.
    static let maxCount = 1000

    /// One warm-up sample: the inputs and how many times to run them.
    struct Sample {
        var name: String
        var inputs: [NamedTensor]
        var count: Int
    }

    /// The samples of a configuration, or the default zero sample.
    /// - Throws: `invalidArgument` naming the `model_warmup` field at fault.
    static func samples(config: Inference_ModelConfig, io: ModelIO) throws -> (samples: [Sample], declared: Bool) {
        guard !config.modelWarmup.isEmpty else {
            let inputs = try io.inputs.filter { !io.optionalInputs.contains($0.name) }.map { spec in
                let shape = spec.shape.map { $0 == -1 ? 1 : $0 }
                try checkSize(shape, type: spec.dataType, field: "input '\(spec.name)' dims")
                return NamedTensor(name: spec.name, tensor: zeros(spec.dataType, shape: shape))
            }
            return ([Sample(name: "zeros", inputs: inputs, count: 1)], false)
        }
        return (try config.modelWarmup.enumerated().map { index, warmup in
            let batch = max(1, Int(warmup.batchSize))
            guard io.maxBatchSize == 0 || batch <= io.maxBatchSize else {
                throw SwerveError.invalid("config field 'model_warmup[\(index)].batch_size': \(batch) is more than max_batch_size \(io.maxBatchSize)")
            }
            guard warmup.count <= maxCount else {
                throw SwerveError.invalid("config field 'model_warmup[\(index)].count': \(warmup.count) must be at most \(maxCount)")
            }
            let inputs = try warmup.inputs.sorted { $0.key < $1.key }.map { name, input in
                guard let spec = io.input(named: name) else {
                    throw SwerveError.invalid("config field 'model_warmup[\(index)].inputs': '\(name)' is not an input of the model")
                }
                guard let type = DataType(configType: input.dataType), type == spec.dataType else {
                    throw SwerveError.invalid("config field 'model_warmup[\(index)].inputs[\(name)].data_type' must be \(spec.dataType.configName)")
                }
                if case .inputDataFile? = input.inputDataType {
                    throw SwerveError.invalid("config field 'model_warmup[\(index)].inputs[\(name)].input_data_file' is not supported; use zero_data or random_data")
                }
                let dims = input.dims.map { Int($0) }
                let shape = (io.maxBatchSize > 0 ? [batch] : []) + dims
                try checkSize(shape, type: type, field: "model_warmup[\(index)].inputs[\(name)].dims")
                if case .randomData? = input.inputDataType {
                    return NamedTensor(name: name, tensor: random(type, shape: shape))
                }
                return NamedTensor(name: name, tensor: zeros(type, shape: shape))
            }
            return Sample(name: warmup.name, inputs: inputs, count: max(1, Int(warmup.count)))
        }, true)
    }

    /// Runs the samples on one instance. Declared samples must succeed; the default one only
    /// warns, since zeros are not valid input for every model.
    static func run(_ instance: any ModelInstance, config: Inference_ModelConfig, io: ModelIO, logger: Logger) throws {
        let (samples, declared) = try samples(config: config, io: io)
        for sample in samples {
            do {
                for _ in 0..<sample.count {
                    _ = try instance.run(inputs: sample.inputs, outputs: io.outputs.map(\.name))
                }
            } catch {
                if declared {
                    throw SwerveError.invalid("model_warmup '\(sample.name)' failed: \(error)")
                }
                logger.warning("model '\(config.name)': warm-up run on zeros failed (the model is served anyway): \(error)")
            }
        }
    }

    /// - Throws: `invalidArgument` naming `field` when `shape` has a negative dimension or its
    ///   tensor would take more than ``maxInputBytes``.
    private static func checkSize(_ shape: [Int], type: DataType, field: String) throws {
        let count: Int
        do {
            count = try Shape.elementCount(shape, tensorName: field)
        } catch let error as SwerveError {
            throw SwerveError.invalid("config field '\(field)': \(error.message)")
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: type.byteSize ?? 5)
        guard !overflow, bytes <= maxInputBytes else {
            throw SwerveError.invalid("config field '\(field)': a warm-up input of shape \(Shape.describe(shape)) would take more than \(maxInputBytes >> 20) MiB")
        }
    }

    private static func zeros(_ type: DataType, shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *)
        if type == .bytes {
            return Tensor(dataType: .bytes, shape: shape, data: BytesCodec.encode(Array(repeating: Array("0".utf8), count: count)))
        }
        return Tensor(dataType: type, shape: shape, data: [UInt8](repeating: 0, count: count * (type.byteSize ?? 1)))
    }

    private static func random(_ type: DataType, shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *)
        if type == .bytes {
            return Tensor(dataType: .bytes, shape: shape, data: BytesCodec.encode((0..<count).map { _ in Array(String(Int.random(in: 0..<100)).utf8) }))
        }
        switch type {
        case .fp32:
            return Tensor(dataType: type, shape: shape, data: (0..<count).flatMap { _ in withUnsafeBytes(of: Float.random(in: -1...1).bitPattern.littleEndian, Array.init) })
        case .fp64:
            return Tensor(dataType: type, shape: shape, data: (0..<count).flatMap { _ in withUnsafeBytes(of: Double.random(in: -1...1).bitPattern.littleEndian, Array.init) })
        case .bool:
            return Tensor(dataType: type, shape: shape, data: (0..<count).map { _ in UInt8.random(in: 0...1) })
        default:
            // Small non-negative integers are valid for every integer type and for FP16/BF16 bit patterns near zero.
            let size = type.byteSize ?? 1
            return Tensor(dataType: type, shape: shape, data: (0..<(count * size)).map { $0 % size == 0 ? UInt8.random(in: 0...3) : 0 })
        }
    }
}
