import Logging
import SwerveCore
import Synchronization

/// Serves TensorFlow SavedModels (`<model>/<version>/model.savedmodel/`, Triton's layout) with
/// TensorFlow's C API, opened at run time from the `tensorflow-cpu` wheel.
///
/// The library is opened on the first ``loadInstance(modelPath:options:)`` (or
/// ``openLibrary()``), not when the backend is created, so a server without TensorFlow starts and
/// serves every other model; each SavedModel then fails to load with the install step in its
/// error. It is looked for, in order: `libraryPath`, `$SWERVE_TENSORFLOW_LIB`, the wheel in a
/// `.venv-frameworks` in the current directory or above the executable, then the system loader.
///
/// Every session runs on TensorFlow's process-wide pools: one intra-op pool of ``intraOpThreads``
/// and, when ``interOpThreads`` is above 1, one inter-op pool of that size (else each run executes
/// its operations in the calling thread), whatever the number of models.
///
/// ```swift
/// let backend = TensorFlowBackend(libraryPath: nil, intraOpThreads: 4, interOpThreads: 1, logger: logger)
/// let instance = try backend.loadInstance(modelPath: "models/dense/1/model.savedmodel", options: InstanceOptions())
/// ```
public final class TensorFlowBackend: InferenceBackend {
    /// `"tensorflow"`, as in Triton's model configurations.
    public let name = "tensorflow"
    /// `"tensorflow_savedmodel"`, as Triton reports in metadata.
    public let platform = "tensorflow_savedmodel"
    /// `"model.savedmodel"`, a folder holding `saved_model.pb` and `variables/`.
    public let defaultModelFilename = "model.savedmodel"

    /// The library path given at creation (the `--tensorflow-lib` flag), tried first.
    public let requestedLibraryPath: String?
    /// The threads of the process-wide intra-op pool, as asked at creation.
    public let intraOpThreads: Int
    /// The threads of the process-wide inter-op pool, as asked at creation; 1 runs each graph's
    /// operations in the calling thread.
    public let interOpThreads: Int

    private let logger: Logger
    /// The runtime once the library is open.
    private let runtime = Mutex<TFRuntime?>(nil)

    /// Creates the backend without opening TensorFlow.
    ///
    /// TensorFlow sizes its CPU thread pools once per process, from the first session: the first
    /// backend to load a model in the process decides them for every later one.
    /// - Parameters:
    ///   - libraryPath: the `libtensorflow_cc.so.2` to use, or the wheel's `tensorflow/` folder that
    ///     holds it (the `--tensorflow-lib` flag); nil to search.
    ///   - intraOpThreads: the threads of the intra-op pool every model runs on; values below 1
    ///     count as 1.
    ///   - interOpThreads: the threads of the inter-op pool; 1 (or less) for none.
    ///   - logger: where the library that was opened is reported.
    public init(libraryPath: String? = nil, intraOpThreads: Int = CPUBudget.available(), interOpThreads: Int = 1, logger: Logger) {
        self.requestedLibraryPath = libraryPath
        self.intraOpThreads = max(1, intraOpThreads)
        self.interOpThreads = max(1, interOpThreads)
        self.logger = logger
    }

    /// The library file loaded; nil until it is opened.
    public var libraryPath: String? { runtime.withLock { $0?.library.path } }

    /// TensorFlow's version (`TF_Version()`, e.g. `"2.21.0"`); nil until the library is opened.
    public var version: String? { runtime.withLock { $0?.library.version } }

    /// Opens TensorFlow now if it is not open yet; ``loadInstance(modelPath:options:)`` does so itself.
    ///
    /// A failure is not remembered: the next call (or load) looks again, so a TensorFlow installed
    /// while the server runs is found.
    /// - Throws: ``SwerveError`` (`unavailable`) listing every place looked and how to install TensorFlow.
    public func openLibrary() throws(SwerveError) {
        _ = try openedRuntime()
    }

    /// Loads the SavedModel folder at `modelPath` (tag `serve`) into a new session and reads the
    /// signature the configuration names with the parameter `signature_def` (or Triton's
    /// `TF_SIGNATURE_DEF`), else `serving_default`. Inputs and outputs are named by the signature's
    /// keys.
    ///
    /// The session runs on the process-wide thread pools: `options`' thread counts size nothing
    /// here (see ``init(libraryPath:intraOpThreads:interOpThreads:logger:)``).
    /// - Throws: ``SwerveError``: `unavailable` when TensorFlow is not installed (with the install
    ///   step); "failed to load TensorFlow SavedModel at PATH: ..." otherwise.
    public func loadInstance(modelPath: String, options: InstanceOptions) throws -> any ModelInstance {
        try TensorFlowSession.load(runtime: try openedRuntime(), modelPath: modelPath, config: options.config)
    }

    private func openedRuntime() throws(SwerveError) -> TFRuntime {
        try runtime.withLock { (runtime: inout TFRuntime?) throws(SwerveError) -> TFRuntime in
            if let runtime {
                return runtime
            }
            let opened = try TFRuntime.shared(
                explicitPath: requestedLibraryPath, intraOpThreads: intraOpThreads, interOpThreads: interOpThreads)
            logger.info(
                "TensorFlow \(opened.library.version) from \(opened.library.path); \(opened.intraOpThreads) intra-op threads, \(opened.interOpThreads > 1 ? "\(opened.interOpThreads) inter-op threads" : "operations run in the calling thread"), shared by all SavedModels")
            runtime = opened
            return opened
        }
    }
}
