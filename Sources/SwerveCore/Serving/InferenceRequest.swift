/// A protocol-free inference request: what every frontend translates its wire format into.
public struct InferenceRequest: Sendable {
    /// An output the client asks for.
    public struct RequestedOutput: Sendable, Equatable {
        /// The output name.
        public var name: String
        /// Per-output parameters (e.g. `classification`, `binary_data`).
        public var parameters: [String: InferenceParameter]

        /// Creates a requested output.
        public init(name: String, parameters: [String: InferenceParameter] = [:]) {
            self.name = name
            self.parameters = parameters
        }
    }

    /// The model to run.
    public var modelName: String
    /// The version to run, or `nil` for the highest ready version.
    public var modelVersion: Int?
    /// The client's request id, echoed in the response.
    public var id: String?
    /// Request parameters, passed through.
    public var parameters: [String: InferenceParameter]
    /// The input tensors.
    public var inputs: [NamedTensor]
    /// The outputs asked for; empty means all of them.
    public var outputs: [RequestedOutput]
    /// Fires when the client goes away in a way the calling task does not see (an HTTP
    /// connection closing); the request is then dropped if it has not started to run.
    public var cancellation: CancellationSignal?

    /// Creates a request.
    public init(
        modelName: String, modelVersion: Int? = nil, id: String? = nil,
        parameters: [String: InferenceParameter] = [:], inputs: [NamedTensor], outputs: [RequestedOutput] = [],
        cancellation: CancellationSignal? = nil
    ) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.id = id
        self.parameters = parameters
        self.inputs = inputs
        self.outputs = outputs
        self.cancellation = cancellation
    }
}

/// A protocol-free inference response.
public struct InferenceResponse: Sendable {
    /// The model that ran.
    public var modelName: String
    /// The version that ran.
    public var modelVersion: Int
    /// The request's id, if it had one.
    public var id: String?
    /// Response parameters.
    public var parameters: [String: InferenceParameter]
    /// The output tensors, in the order asked for (model order when all were asked for).
    public var outputs: [NamedTensor]

    /// Creates a response.
    public init(
        modelName: String, modelVersion: Int, id: String?, parameters: [String: InferenceParameter] = [:],
        outputs: [NamedTensor]
    ) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.id = id
        self.parameters = parameters
        self.outputs = outputs
    }
}
