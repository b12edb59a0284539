/// The inputs and outputs a served model version accepts and returns, after its configuration
/// has been completed and checked against the model file. Requests are validated against it.
public struct ModelIO: Sendable, Equatable {
    /// The largest batch a request may carry, or 0 when the model has no batch dimension.
    public var maxBatchSize: Int
    /// Inputs with their full shapes (a leading `-1` batch dimension when batching).
    public var inputs: [TensorSpec]
    /// Outputs with their full shapes.
    public var outputs: [TensorSpec]
    /// Inputs a request may leave out.
    public var optionalInputs: Set<String>

    /// Creates a model's input/output description.
    public init(maxBatchSize: Int, inputs: [TensorSpec], outputs: [TensorSpec], optionalInputs: Set<String> = []) {
        self.maxBatchSize = maxBatchSize
        self.inputs = inputs
        self.outputs = outputs
        self.optionalInputs = optionalInputs
    }

    /// The input named `name`, if any.
    public func input(named name: String) -> TensorSpec? { inputs.first { $0.name == name } }
    /// The output named `name`, if any.
    public func output(named name: String) -> TensorSpec? { outputs.first { $0.name == name } }
}
