import SwerveCore

extension TorchModelInstance {
    /// Runs `forward` on the calling thread and returns the outputs named in `outputs`, in order.
    ///
    /// Inputs reach libtorch as tensors over their buffers, without copying, unless the module may
    /// write to or keep an argument (then the shim copies that one). Each output asked for is
    /// copied out once.
    /// - Throws: ``SwerveError``: `modelFailed` with libtorch's message when `forward` fails (a
    ///   shape it cannot take, say), or when an output's type or shape contradicts config.pbtxt;
    ///   `invalidArgument` for an unknown or missing name or a wrong data type.
    func run(inputs: [NamedTensor], outputs: [String]) throws -> [NamedTensor] {
        var timings = RunTimings()
        return try run(inputs: inputs, outputs: outputs, timings: &timings)
    }

    /// Runs the model as ``run(inputs:outputs:)`` does and times its three phases: ordering the
    /// inputs, `forward` (making the tensors included), and copying the outputs out.
    func run(inputs: [NamedTensor], outputs requested: [String], timings: inout RunTimings) throws -> [NamedTensor] {
        let start = ContinuousClock.now
        let arguments = try orderedArguments(inputs)
        let wanted = try requested.map { name throws(SwerveError) in
            guard let output = self.outputs[name] else {
                throw SwerveError.invalid("the model has no output '\(name)'")
            }
            return output
        }
        let dtypes = arguments.map { self.inputs[$0.name]!.typeCode }
        let ranks = arguments.map { Int32($0.tensor.shape.count) }
        // All dimensions in one buffer; argument i's start at offsets[i].
        let dims: [Int64] = arguments.flatMap { $0.tensor.shape.map { Int64($0) } } + [0]
        let offsets = arguments.reduce(into: [0]) { $0.append($0.last! + $1.tensor.shape.count) }
        return try withBuffers(of: arguments[...], pinned: []) { data in
            let prepared = ContinuousClock.now
            timings.inputNanoseconds = (prepared - start).nanoseconds
            let (produced, error) = dims.withUnsafeBufferPointer { dimensions in
                let shapes: [UnsafePointer<Int64>?] = offsets.dropLast().map { UnsafePointer(dimensions.baseAddress!) + $0 }
                return api.capturingError { error in
                    api.forward(module, Int32(arguments.count), dtypes, ranks, shapes, data, error)
                }
            }
            guard let result = produced else {
                throw SwerveError(.modelFailed, "model failed to run: \(TorchErrorMessage.summary(error ?? "libtorch gave no message"))")
            }
            defer { api.resultFree(result) }
            let ran = ContinuousClock.now
            timings.inferNanoseconds = (ran - prepared).nanoseconds
            // Copied before the inputs are unpinned: an output may share an input's memory.
            let named = try wanted.map { output throws(SwerveError) in
                NamedTensor(name: output.spec.name, tensor: try copy(output, from: result))
            }
            timings.outputNanoseconds = (ContinuousClock.now - ran).nanoseconds
            return named
        }
    }

    /// The inputs in `forward`'s argument order, checked against the configuration.
    private func orderedArguments(_ given: [NamedTensor]) throws(SwerveError) -> [NamedTensor] {
        var ordered = [NamedTensor?](repeating: nil, count: argumentCount)
        for input in given {
            guard let binding = inputs[input.name] else {
                throw SwerveError.invalid("the model has no input '\(input.name)'")
            }
            guard binding.spec.dataType == input.tensor.dataType else {
                throw SwerveError.invalid(
                    "input '\(input.name)' is \(input.tensor.dataType.rawValue) but the model expects \(binding.spec.dataType.rawValue)")
            }
            guard ordered[binding.argument] == nil else {
                throw SwerveError.invalid("input '\(input.name)' is given twice")
            }
            ordered[binding.argument] = input
        }
        return try ordered.enumerated().map { (argument, input) throws(SwerveError) in
            guard let input else {
                let name = binding.inputs.first { $0.argument == argument }!.spec.name
                throw SwerveError.invalid("input '\(name)' is missing: forward takes every configured input")
            }
            return input
        }
    }

    /// Calls `body` with the base address of each tensor's buffer (NULL for an empty one), every
    /// buffer pinned until `body` returns. libtorch only reads them (the shim copies any argument
    /// the module may write to), so the arrays' storage may be handed over as it is.
    private func withBuffers<R>(
        of tensors: ArraySlice<NamedTensor>, pinned: [UnsafeRawPointer?], _ body: ([UnsafeRawPointer?]) throws -> R
    ) rethrows -> R {
        guard let first = tensors.first else {
            return try body(pinned)
        }
        return try first.tensor.data.withUnsafeBytes { bytes in
            try withBuffers(of: tensors.dropFirst(), pinned: pinned + [bytes.baseAddress], body)
        }
    }

    /// Copies result tensor `output.index` into a ``Tensor``, checking it against config.pbtxt.
    private func copy(_ output: TorchBinding.Output, from result: OpaquePointer) throws(SwerveError) -> Tensor {
        var code: Int32 = -1
        var rank: Int32 = 0
        var shapePointer: UnsafePointer<Int64>?
        var data: UnsafeRawPointer?
        var byteCount: Int64 = 0
        let (status, error) = api.capturingError { error in
            api.resultTensor(result, Int32(output.index), &code, &rank, &shapePointer, &data, &byteCount, error)
        }
        let name = output.spec.name
        guard status == 0 else {
            throw SwerveError(.modelFailed, "output '\(name)': \(error ?? "libtorch gave no message")")
        }
        guard let dataType = TorchElementType.dataType(of: code) else {
            throw SwerveError.internal("output '\(name)': the shim returned unknown element type code \(code)")
        }
        guard dataType == output.spec.dataType else {
            throw SwerveError(
                .modelFailed, "output '\(name)' is \(dataType.configName) but config.pbtxt declares \(output.spec.dataType.configName)")
        }
        let shape = (0..<Int(rank)).map { Int(shapePointer![$0]) }
        let declared = output.spec.shape
        guard shape.count == declared.count, zip(shape, declared).allSatisfy({ $1 == -1 || $0 == $1 }) else {
            throw SwerveError(
                .modelFailed,
                "output '\(name)' has shape \(Shape.describe(shape)) but config.pbtxt declares \(Shape.describe(declared))\(declared.first == -1 ? " (with the batch dimension)" : "")")
        }
        let count = Int(byteCount)
        guard count > 0, let data else {
            return Tensor(dataType: dataType, shape: shape, data: [])
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(start: data, count: count))
            initialized = count
        }
        return Tensor(dataType: dataType, shape: shape, data: bytes)
    }
}
