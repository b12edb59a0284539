/// The path of one request through a served version: preprocess (decode images) → validate
/// against the model's inputs → submit to the instance pool → postprocess (classification) →
/// record statistics. Nothing here knows which protocol the request came by.
enum InferencePipeline {
    /// Runs `request` on `served`.
    /// - Throws: ``SwerveError``: `tooManyRequests` when the version's admission refuses it,
    ///   `invalidArgument` for a request that does not fit the model or has too many BYTES elements,
    ///   `unavailable` when the queue is full or the version retires, `cancelled`,
    ///   `deadlineExceeded`, or the backend's error.
    static func run(_ request: InferenceRequest, on served: ServedVersion) async throws -> InferenceResponse {
        // Admission (requests in flight, rate, BYTES elements) before any work: ModelAdmission.
        try served.admission.checkBytesElements(request)
        try served.admission.enter()
        defer { served.admission.leave() }
        let statistics = served.pool.statistics
        // In flight from here until answered, whatever the outcome (InferenceMetrics).
        statistics.metrics.inFlight.increment()
        defer { statistics.metrics.inFlight.decrement() }
        var request = request
        try await preprocess(&request, for: served)
        let start = ContinuousClock.now
        do {
            let outputNames = try RequestValidator.validate(request, against: served.io, modelName: served.name)
            let batchSize = served.io.maxBatchSize > 0 ? (request.inputs.first?.tensor.shape.first ?? 1) : 1
            let timeout = request.parameters["timeout"]?.intValue.map { Duration.microseconds($0) }
            let completed = try await served.pool.submit(
                inputs: request.inputs, outputs: outputNames, batchSize: batchSize, timeout: timeout, cancellation: request.cancellation)
            let outputs = try postprocess(completed.outputs, requested: request.outputs, on: served)
            statistics.recordRequest(
                success: true, totalNanoseconds: (ContinuousClock.now - start).nanoseconds, queueNanoseconds: completed.queueNanoseconds)
            return InferenceResponse(modelName: served.name, modelVersion: served.version, id: request.id, outputs: outputs)
        } catch {
            statistics.recordRequest(success: false, totalNanoseconds: (ContinuousClock.now - start).nanoseconds, queueNanoseconds: nil)
            throw error
        }
    }

    /// Decodes an encoded input (a BYTES tensor of images) into the tensor the model takes, on
    /// the preprocessing worker pool, when the version has a preprocessor for it.
    private static func preprocess(_ request: inout InferenceRequest, for served: ServedVersion) async throws {
        guard let preprocessor = served.preprocessor,
              let index = request.inputs.firstIndex(where: { $0.name == preprocessor.inputName && $0.tensor.dataType == .bytes }),
              served.io.input(named: preprocessor.inputName)?.dataType != .bytes else { return }
        let encoded = request.inputs[index]
        request.inputs[index].tensor = try await WorkerPool.preprocessing.run {
            try preprocessor.preprocessBatch(encoded.tensor, name: encoded.name)
        }
    }

    /// Replaces each output asked for with a `classification` parameter by its top classes.
    private static func postprocess(
        _ outputs: [NamedTensor], requested: [InferenceRequest.RequestedOutput], on served: ServedVersion
    ) throws -> [NamedTensor] {
        var outputs = outputs
        for output in requested {
            guard let parameter = output.parameters["classification"] else { continue }
            guard let count = parameter.intValue else {
                throw SwerveError.invalid("output '\(output.name)': the classification parameter must be an integer")
            }
            guard let index = outputs.firstIndex(where: { $0.name == output.name }) else { continue }
            outputs[index].tensor = try Classification.classify(
                outputs[index].tensor, name: output.name, count: Int(count), batched: served.io.maxBatchSize > 0,
                labels: served.labels[output.name])
        }
        return outputs
    }
}
