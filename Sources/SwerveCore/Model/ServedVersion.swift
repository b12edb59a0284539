/// A model version that is loaded: its completed configuration, its inputs and outputs, and the
/// pool of instances that runs its requests.
public final class ServedVersion: Sendable {
    /// The model name.
    public let name: String
    /// The version number.
    public let version: Int
    /// The completed configuration.
    public let config: Inference_ModelConfig
    /// The inputs and outputs requests are checked against.
    public let io: ModelIO
    /// Outputs of the model file that cannot be served.
    public let unsupportedOutputs: [UnsupportedTensor]
    let pool: InstancePool

    init(name: String, version: Int, config: Inference_ModelConfig, io: ModelIO, unsupportedOutputs: [UnsupportedTensor], pool: InstancePool) {
        self.name = name
        self.version = version
        self.config = config
        self.io = io
        self.unsupportedOutputs = unsupportedOutputs
        self.pool = pool
    }
}
