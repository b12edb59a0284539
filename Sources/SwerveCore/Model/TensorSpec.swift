/// What a model declares about one of its inputs or outputs.
public struct TensorSpec: Sendable, Equatable {
    /// The tensor's name in the model.
    public var name: String
    /// The element type.
    public var dataType: DataType
    /// The full shape the model declares, batch dimension included; `-1` marks a variable dimension.
    public var shape: [Int]

    /// Creates a tensor description.
    public init(name: String, dataType: DataType, shape: [Int]) {
        self.name = name
        self.dataType = dataType
        self.shape = shape
    }
}

/// An input or output that a backend cannot serve as a tensor (for example a sequence of maps),
/// with the reason; the model still loads without it.
public struct UnsupportedTensor: Sendable, Equatable {
    /// The tensor's name in the model.
    public var name: String
    /// Why it cannot be served, in plain words.
    public var reason: String

    /// Creates a description of an unsupported tensor.
    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }
}

/// The inputs and outputs a loaded model declares, as read from the model file.
public struct ModelSignature: Sendable, Equatable {
    /// The inputs, in the model's order.
    public var inputs: [TensorSpec]
    /// The outputs that can be served, in the model's order.
    public var outputs: [TensorSpec]
    /// Outputs left out because they are not tensors.
    public var unsupportedOutputs: [UnsupportedTensor]

    /// Creates a signature.
    public init(inputs: [TensorSpec], outputs: [TensorSpec], unsupportedOutputs: [UnsupportedTensor] = []) {
        self.inputs = inputs
        self.outputs = outputs
        self.unsupportedOutputs = unsupportedOutputs
    }
}

/// A tensor with the name it has in a request or a response.
public struct NamedTensor: Sendable, Equatable {
    /// The input or output name.
    public var name: String
    /// The tensor.
    public var tensor: Tensor

    /// Pairs a name with a tensor.
    public init(name: String, tensor: Tensor) {
        self.name = name
        self.tensor = tensor
    }
}
