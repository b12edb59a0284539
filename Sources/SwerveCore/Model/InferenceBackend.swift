/// Settings for one instance (one session) of a model.
///
/// The thread counts are for backends that give each instance threads of its own. ONNX Runtime's
/// backend does not: every session runs on one process-wide pool sized when the backend is
/// created (`ONNXRuntimeBackend(intraOpThreads:)`), so it ignores both.
public struct InstanceOptions: Sendable, Equatable {
    /// Threads the backend may use inside one operator of this instance.
    public var intraOpThreads: Int
    /// Threads the backend may use to run independent operators of this instance at once.
    public var interOpThreads: Int
    /// The configuration the user gave (config.pbtxt or a repository API's override), before it is
    /// completed from the model; nil when there is none. Backends whose model files do not declare
    /// their inputs and outputs (TorchScript) read them here, others their parameters (a
    /// SavedModel's `signature_def`).
    public var config: Inference_ModelConfig?

    /// Creates instance options.
    public init(intraOpThreads: Int = 1, interOpThreads: Int = 1, config: Inference_ModelConfig? = nil) {
        self.intraOpThreads = intraOpThreads
        self.interOpThreads = interOpThreads
        self.config = config
    }
}

/// A runtime that can load models of one format (ONNX Runtime for `.onnx`).
///
/// Loading and running are blocking calls. The core makes them from its own threads, never from
/// an event loop, with one exception: a fast model's run (recent runs under
/// `InstancePool.defaultInlineLimit`, 100 µs) may happen on the calling task's thread when an instance
/// is free and nothing is queued, which costs less than two thread hand-overs.
public protocol InferenceBackend: Sendable {
    /// The backend name Triton uses in model configurations (`"onnxruntime"`).
    var name: String { get }
    /// The platform Triton reports in metadata (`"onnxruntime_onnx"`).
    var platform: String { get }
    /// The model file looked for in a version folder when the configuration names none.
    var defaultModelFilename: String { get }
    /// Loads one instance of the model at `path`.
    /// - Throws: ``SwerveError`` with a message that says what is wrong with the model.
    func loadInstance(modelPath: String, options: InstanceOptions) throws -> any ModelInstance
}

/// One loaded copy of a model (for ONNX Runtime, one session). Safe to call from any thread.
public protocol ModelInstance: AnyObject, Sendable {
    /// The inputs and outputs read from the model file.
    var signature: ModelSignature { get }
    /// Runs the model on the calling thread and returns the outputs named in `outputs`, in that order.
    ///
    /// Inputs have already been checked against ``signature`` by the core: names, data types, ranks
    /// and fixed dimensions match, and each buffer holds exactly the elements its shape describes.
    /// - Throws: ``SwerveError`` (`modelFailed` when the model rejects the values).
    func run(inputs: [NamedTensor], outputs: [String]) throws -> [NamedTensor]
    /// Runs the model as ``run(inputs:outputs:)`` does and reports how long each phase took.
    func run(inputs: [NamedTensor], outputs: [String], timings: inout RunTimings) throws -> [NamedTensor]
}

extension ModelInstance {
    /// Times the whole run as inference, for backends that cannot tell the phases apart.
    public func run(inputs: [NamedTensor], outputs: [String], timings: inout RunTimings) throws -> [NamedTensor] {
        let start = ContinuousClock.now
        defer { timings.inferNanoseconds = (ContinuousClock.now - start).nanoseconds }
        return try run(inputs: inputs, outputs: outputs)
    }
}
