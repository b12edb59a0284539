import Logging
import SwerveCore
import Synchronization

/// Serves TorchScript models (`model.pt`, Triton's `pytorch_libtorch` platform) with libtorch,
/// through Swerve's small C shim over libtorch's C++ API (native/torch_shim), which
/// scripts/build_torch_shim.sh builds against the torch wheel in `.venv-frameworks`.
///
/// The shim is opened on the first model load, not when the backend is created, so a server
/// without torch starts and serves its other models; a TorchScript model then fails to load with
/// the install step in its error. It is looked for, in order: `shimPath`, `$SWERVE_TORCH_SHIM`,
/// then `.build-native/libswerve_torch_shim.so` under the current directory and under the
/// executable's directory and each directory above it.
///
/// A TorchScript file does not declare its inputs and outputs, so every model needs a
/// config.pbtxt that lists them (see ``loadInstance(modelPath:options:)``).
///
/// ```swift
/// let backend = TorchBackend(shimPath: nil, threads: 2, logger: logger)
/// let instance = try backend.loadInstance(
///     modelPath: "models/resnet50_pt/1/model.pt", options: InstanceOptions(config: config))
/// ```
public final class TorchBackend: InferenceBackend {
    /// `"pytorch"`, as in Triton's model configurations.
    public let name = "pytorch"
    /// `"pytorch_libtorch"`, as Triton reports in metadata.
    public let platform = "pytorch_libtorch"
    /// `"model.pt"`.
    public let defaultModelFilename = "model.pt"

    private let shimPath: String?
    private let threads: Int
    private let logger: Logger
    /// The runtime once the shim is open; a failed open is tried again on the next load.
    private let runtime = Mutex<TorchRuntime?>(nil)

    /// Creates the backend without opening anything.
    /// - Parameters:
    ///   - shimPath: the `libswerve_torch_shim.so` to open, the only one tried when given.
    ///   - threads: libtorch's intra-op threads, the calling thread included (values below 1
    ///     count as 1). libtorch's setting is process-wide: the first backend to open the shim
    ///     sets it, and ``intraOpThreads`` says what is in effect.
    ///   - logger: where model loads report what they did not optimise.
    public init(shimPath: String? = nil, threads: Int = CPUBudget.available(), logger: Logger = Logger(label: "swerve.torch")) {
        self.shimPath = shimPath
        self.threads = threads
        self.logger = logger
    }

    /// The shim file loaded, or `nil` before the first successful load or ``open()``.
    public var libraryPath: String? { runtime.withLock { $0?.library.path } }

    /// The libtorch version the shim was built against (e.g. `"2.15.0"`), or `nil` before it is open.
    public var version: String? { runtime.withLock { $0?.library.version } }

    /// libtorch's intra-op threads, or `nil` before the shim is open.
    public var intraOpThreads: Int? { runtime.withLock { $0?.intraOpThreads } }

    /// Opens the shim now (it is otherwise opened by the first load), for a caller that wants to
    /// know at once whether TorchScript models can be served.
    /// - Throws: ``SwerveError`` (`unavailable`) listing every place looked and how to build the shim.
    public func open() throws(SwerveError) {
        _ = try openedRuntime()
    }

    /// Loads the TorchScript file at `modelPath` on the CPU, in eval mode, frozen and optimised
    /// for inference where libtorch can, and maps its inputs and outputs from `options.config`:
    /// each input's and output's name, data type and dims, and `max_batch_size` (Triton's naming
    /// rules: ``TorchBinding``). The thread counts in `options` are not used: libtorch's are
    /// process-wide (see ``init(shimPath:threads:logger:)``).
    /// - Throws: ``SwerveError``: `unavailable` when the shim cannot be opened; `invalidArgument`
    ///   "failed to load TorchScript model at PATH: ..." when the file is not TorchScript, or the
    ///   configuration is missing or does not fit `forward`.
    public func loadInstance(modelPath: String, options: InstanceOptions) throws -> any ModelInstance {
        try TorchModelInstance.load(runtime: openedRuntime(), modelPath: modelPath, config: options.config, logger: logger)
    }

    private func openedRuntime() throws(SwerveError) -> TorchRuntime {
        try runtime.withLock { (runtime: inout TorchRuntime?) throws(SwerveError) -> TorchRuntime in
            if let runtime {
                return runtime
            }
            let opened = try TorchRuntime.shared(explicitPath: shimPath, threads: threads)
            runtime = opened
            return opened
        }
    }
}
