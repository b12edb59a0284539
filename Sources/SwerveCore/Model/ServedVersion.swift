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
    /// Class labels per output, from `label_filename` or the model's `labels.txt`.
    public let labels: [String: [String]]
    /// Decodes encoded inputs (images) into the model's input tensor, when the config declares it.
    public let preprocessor: (any InputPreprocessor)?
    /// The memory the version took to load and warm up, measured around its load.
    public let memoryBytes: Int
    let pool: InstancePool
    /// What the version admits: requests in flight, rate, BYTES elements (``ModelLimits``).
    public let admission: ModelAdmission

    /// The version's statistics so far, with its measured memory.
    public var statistics: ModelStatistics {
        var statistics = pool.statistics.snapshot
        statistics.memoryBytes = UInt64(memoryBytes)
        return statistics
    }

    init(
        name: String, version: Int, config: Inference_ModelConfig, io: ModelIO, unsupportedOutputs: [UnsupportedTensor],
        labels: [String: [String]], preprocessor: (any InputPreprocessor)?, memoryBytes: Int = 0, pool: InstancePool,
        admission: ModelAdmission
    ) {
        self.admission = admission
        self.memoryBytes = memoryBytes
        self.labels = labels
        self.preprocessor = preprocessor
        self.name = name
        self.version = version
        self.config = config
        self.io = io
        self.unsupportedOutputs = unsupportedOutputs
        self.pool = pool
    }
}
