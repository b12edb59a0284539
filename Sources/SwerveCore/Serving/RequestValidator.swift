/// Checks a request against what a model version accepts, before it is queued, so that a bad
/// request never reaches the backend or a batch.
public enum RequestValidator {
    /// Returns the names of the outputs to compute, in order.
    /// - Throws: ``SwerveError`` (`invalidArgument`) that names the offending tensor.
    public static func validate(_ request: InferenceRequest, against io: ModelIO, modelName: String) throws -> [String] {
        var seen = Set<String>()
        var batchSize: Int?
        for input in request.inputs {
            guard seen.insert(input.name).inserted else {
                throw SwerveError.invalid("input '\(input.name)' is given more than once")
            }
            guard let spec = io.input(named: input.name) else {
                let names = io.inputs.map { "'\($0.name)'" }.joined(separator: ", ")
                throw SwerveError.invalid("unexpected input '\(input.name)' for model '\(modelName)'; its inputs are \(names)")
            }
            let tensor = input.tensor
            guard tensor.dataType == spec.dataType else {
                throw SwerveError.invalid(
                    "input '\(input.name)' has datatype \(tensor.dataType.rawValue) but model '\(modelName)' expects \(spec.dataType.rawValue)"
                )
            }
            guard tensor.shape.count == spec.shape.count,
                  zip(tensor.shape, spec.shape).allSatisfy({ $1 == -1 || $0 == $1 })
            else {
                throw SwerveError.invalid(
                    "input '\(input.name)' has shape \(Shape.describe(tensor.shape)) but model '\(modelName)' expects \(Shape.describe(spec.shape))"
                )
            }
            if io.maxBatchSize > 0 {
                let batch = tensor.shape[0]
                guard batch >= 1, batch <= io.maxBatchSize else {
                    throw SwerveError.invalid(
                        "input '\(input.name)' has batch size \(batch) but model '\(modelName)' accepts 1 to \(io.maxBatchSize) (max_batch_size)"
                    )
                }
                if let previous = batchSize, previous != batch {
                    throw SwerveError.invalid("input '\(input.name)' has batch size \(batch) but another input has \(previous); all inputs must agree")
                }
                batchSize = batch
            }
        }
        for spec in io.inputs where !seen.contains(spec.name) && !io.optionalInputs.contains(spec.name) {
            throw SwerveError.invalid("missing input '\(spec.name)' for model '\(modelName)'")
        }
        if request.outputs.isEmpty {
            return io.outputs.map(\.name)
        }
        var names: [String] = []
        var seenOutputs = Set<String>()
        for output in request.outputs {
            guard io.output(named: output.name) != nil else {
                let valid = io.outputs.map { "'\($0.name)'" }.joined(separator: ", ")
                throw SwerveError.invalid("unexpected output '\(output.name)' for model '\(modelName)'; its outputs are \(valid)")
            }
            guard seenOutputs.insert(output.name).inserted else {
                throw SwerveError.invalid("output '\(output.name)' is requested more than once")
            }
            names.append(output.name)
        }
        return names
    }
}
