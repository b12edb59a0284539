import SwerveCore

extension ONNXRuntimeSession {
    /// Runs the model on the calling thread and returns the outputs named in `outputs`, in order.
    ///
    /// Fixed-size inputs are handed to ONNX Runtime in place, without copying; BYTES inputs are
    /// copied into ONNX Runtime strings. Outputs are copied out once each.
    /// - Throws: ``SwerveError``: `modelFailed` with ONNX Runtime's message when the model rejects
    ///   the values; `invalidArgument` for an unknown name, a wrong data type, or a BYTES element
    ///   containing a NUL byte.
    public func run(inputs: [NamedTensor], outputs: [String]) throws -> [NamedTensor] {
        var timings = RunTimings()
        return try run(inputs: inputs, outputs: outputs, timings: &timings)
    }

    /// Runs the model as ``run(inputs:outputs:)`` does and times its three phases: making ONNX
    /// Runtime values of the inputs, ONNX Runtime's `Run`, and copying the outputs out (Triton's
    /// compute input, infer and output).
    public func run(inputs: [NamedTensor], outputs: [String], timings: inout RunTimings) throws -> [NamedTensor] {
        let start = ContinuousClock.now
        let inputNames = try inputs.map { input throws(SwerveError) in
            UnsafePointer(try inputBinding(for: input).cName)
        }
        let outputNames = try outputs.map { name throws(SwerveError) in
            UnsafePointer(try outputBinding(named: name).cName)
        }
        return try withInputValues(inputs[...], created: []) { values throws in
            let prepared = ContinuousClock.now
            timings.inputNanoseconds = (prepared - start).nanoseconds
            let results = try run(inputNames: inputNames, values: values, outputNames: outputNames)
            defer { results.forEach { api.releaseValue($0) } }
            let ran = ContinuousClock.now
            timings.inferNanoseconds = (ran - prepared).nanoseconds
            var named: [NamedTensor] = []
            named.reserveCapacity(results.count)
            for (name, value) in zip(outputs, results) {
                named.append(NamedTensor(name: name, tensor: try tensor(from: value, name: name)))
            }
            timings.outputNanoseconds = (ContinuousClock.now - ran).nanoseconds
            return named
        }
    }

    /// Calls `Run`; the caller releases the returned values.
    private func run(
        inputNames: [UnsafePointer<CChar>?], values: [OpaquePointer?], outputNames: [UnsafePointer<CChar>?]
    ) throws(SwerveError) -> [OpaquePointer] {
        var results = [OpaquePointer?](repeating: nil, count: outputNames.count)
        let status = inputNames.withUnsafeBufferPointer { inNames in
            values.withUnsafeBufferPointer { inValues in
                outputNames.withUnsafeBufferPointer { outNames in
                    results.withUnsafeMutableBufferPointer { outValues in
                        api.run(
                            session, nil, inNames.baseAddress, inValues.baseAddress, inValues.count,
                            outNames.baseAddress, outNames.count, outValues.baseAddress
                        )
                    }
                }
            }
        }
        let produced = results.compactMap { $0 }
        do {
            try api.check(status)
        } catch {
            produced.forEach { api.releaseValue($0) }
            throw SwerveError(.modelFailed, "model failed to run: \(error.message)", cause: error)
        }
        guard produced.count == outputNames.count else {
            produced.forEach { api.releaseValue($0) }
            throw SwerveError.internal("ONNX Runtime returned \(produced.count) outputs for \(outputNames.count) requested")
        }
        return produced
    }

    private func inputBinding(for input: NamedTensor) throws(SwerveError) -> Binding {
        guard let binding = inputs[input.name] else {
            throw SwerveError.invalid("the model has no input '\(input.name)'")
        }
        guard binding.spec.dataType == input.tensor.dataType else {
            throw SwerveError.invalid(
                "input '\(input.name)' is \(input.tensor.dataType.rawValue) but the model expects \(binding.spec.dataType.rawValue)"
            )
        }
        return binding
    }

    private func outputBinding(named name: String) throws(SwerveError) -> Binding {
        if let binding = outputs[name] {
            return binding
        }
        if let unsupported = signature.unsupportedOutputs.first(where: { $0.name == name }) {
            throw SwerveError.invalid("output '\(name)' cannot be served: \(unsupported.reason)")
        }
        throw SwerveError.invalid("the model has no output '\(name)'")
    }
}
