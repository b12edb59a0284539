import SwerveCore

extension TensorFlowSession {
    /// Runs the model on the calling thread (its operations on the runtime's shared pools) and
    /// returns the outputs named in `outputs`, in order.
    ///
    /// Each input is copied once into a tensor TensorFlow allocates, BYTES elements into
    /// TensorFlow strings; each output is copied out once.
    /// - Throws: ``SwerveError``: `modelFailed` with TensorFlow's message when the model rejects the
    ///   values (a shape its operations cannot take, for example); `invalidArgument` for an unknown
    ///   name or a wrong data type.
    public func run(inputs: [NamedTensor], outputs: [String]) throws -> [NamedTensor] {
        var timings = RunTimings()
        return try run(inputs: inputs, outputs: outputs, timings: &timings)
    }

    /// Runs the model as ``run(inputs:outputs:)`` does and times its three phases: making
    /// TensorFlow tensors of the inputs, `TF_SessionRun`, and copying the outputs out (Triton's
    /// compute input, infer and output).
    public func run(inputs: [NamedTensor], outputs: [String], timings: inout RunTimings) throws -> [NamedTensor] {
        let start = ContinuousClock.now
        let feeds = try inputs.map { input throws(SwerveError) in try inputBinding(for: input) }
        let fetches = try outputs.map { name throws(SwerveError) in try outputBinding(named: name) }
        return try withInputTensors(inputs) { values in
            let prepared = ContinuousClock.now
            timings.inputNanoseconds = (prepared - start).nanoseconds
            let results = try run(feeds: feeds, values: values, fetches: fetches)
            defer { results.forEach { api.deleteTensor($0) } }
            let ran = ContinuousClock.now
            timings.inferNanoseconds = (ran - prepared).nanoseconds
            var named: [NamedTensor] = []
            named.reserveCapacity(results.count)
            for (name, handle) in zip(outputs, results) {
                named.append(NamedTensor(name: name, tensor: try tensor(from: handle, name: name)))
            }
            timings.outputNanoseconds = (ContinuousClock.now - ran).nanoseconds
            return named
        }
    }

    /// Calls `TF_SessionRun`; the caller deletes the returned tensors.
    private func run(feeds: [TFTensorBinding], values: [OpaquePointer?], fetches: [TFTensorBinding]) throws(SwerveError) -> [OpaquePointer] {
        var results = [OpaquePointer?](repeating: nil, count: fetches.count)
        do {
            try api.withStatus { status in
                TFOutputList.with(feeds) { feedList, feedCount in
                    TFOutputList.with(fetches) { fetchList, fetchCount in
                        values.withUnsafeBufferPointer { inValues in
                            results.withUnsafeMutableBufferPointer { outValues in
                                api.sessionRun(
                                    session, nil, feedList, inValues.baseAddress, feedCount,
                                    fetchList, outValues.baseAddress, fetchCount, nil, 0, nil, status)
                            }
                        }
                    }
                }
            }
        } catch {
            results.forEach { api.deleteTensor($0) }
            throw SwerveError(.modelFailed, "model failed to run: \(error.message)", cause: error)
        }
        let produced = results.compactMap { $0 }
        guard produced.count == fetches.count else {
            produced.forEach { api.deleteTensor($0) }
            throw SwerveError.internal("TensorFlow returned \(produced.count) outputs for \(fetches.count) requested")
        }
        return produced
    }

    private func inputBinding(for input: NamedTensor) throws(SwerveError) -> TFTensorBinding {
        guard let binding = inputs[input.name] else {
            throw SwerveError.invalid("the model has no input '\(input.name)'")
        }
        guard binding.spec.dataType == input.tensor.dataType else {
            throw SwerveError.invalid(
                "input '\(input.name)' is \(input.tensor.dataType.rawValue) but the model expects \(binding.spec.dataType.rawValue)")
        }
        return binding
    }

    private func outputBinding(named name: String) throws(SwerveError) -> TFTensorBinding {
        if let binding = outputs[name] {
            return binding
        }
        if let unsupported = signature.unsupportedOutputs.first(where: { $0.name == name }) {
            throw SwerveError.invalid("output '\(name)' cannot be served: \(unsupported.reason)")
        }
        throw SwerveError.invalid("the model has no output '\(name)'")
    }
}
