import SwerveCore

/// Serves `.onnx` models with ONNX Runtime, which is opened at run time through its C API.
///
/// The library is looked for, in order: `libraryPath`, `$SWERVE_ONNXRUNTIME_LIB`, the one bundled
/// with the executable (`lib/` beside its `bin/` folder, as `make dist` and the container image lay
/// them out), the `onnxruntime` wheel in a `.venv` in the current directory or above the
/// executable, then the system loader. One ONNX Runtime environment is shared by every session in the process, and
/// so are its threads: one intra-op pool of ``intraOpThreads``, whatever the number of models.
///
/// ```swift
/// let backend = try ONNXRuntimeBackend(intraOpThreads: 4)
/// let instance = try backend.loadInstance(modelPath: "models/mul/1/model.onnx", options: InstanceOptions())
/// ```
public final class ONNXRuntimeBackend: InferenceBackend {
    /// `"onnxruntime"`, as in Triton's model configurations.
    public let name = "onnxruntime"
    /// `"onnxruntime_onnx"`, as Triton reports in metadata.
    public let platform = "onnxruntime_onnx"
    /// `"model.onnx"`.
    public let defaultModelFilename = "model.onnx"

    private let runtime: ORTRuntime

    /// Opens ONNX Runtime.
    ///
    /// The first backend created in the process for a library file creates ONNX Runtime's
    /// environment and its thread pool, and decides `intraOpThreads` for the life of the process:
    /// a later backend for the same library shares them and its `intraOpThreads` is ignored
    /// (``intraOpThreads`` says what is in use).
    /// - Parameters:
    ///   - libraryPath: the `libonnxruntime.so` to try first (the `--onnxruntime-lib` flag).
    ///   - intraOpThreads: the threads of the one intra-op pool every model runs on, the calling
    ///     thread included (the `--intra-op-threads` flag); values below 1 count as 1.
    /// - Throws: ``SwerveError`` listing every place looked and how to install ONNX Runtime, or
    ///   saying that the library found is older than 1.20.
    public init(libraryPath: String? = nil, intraOpThreads: Int = CPUBudget.available()) throws {
        runtime = try ORTRuntime.shared(explicitPath: libraryPath, intraOpThreads: intraOpThreads)
    }

    /// The library file actually loaded.
    public var libraryPath: String { runtime.library.path }

    /// ONNX Runtime's version, e.g. `"1.32.0"`.
    public var version: String { runtime.library.version }

    /// The threads of the intra-op pool that every session runs on, as the process's first
    /// backend for this library set them.
    public var intraOpThreads: Int { runtime.intraOpThreads }

    /// Creates an ONNX Runtime session for the model at `modelPath`, with all graph optimizations
    /// and sequential execution, and reads its signature.
    ///
    /// The session runs on the backend's shared thread pool: `options`' thread counts size
    /// nothing here (see ``init(libraryPath:intraOpThreads:)``).
    /// - Throws: ``SwerveError`` "failed to load ONNX model at PATH: ...".
    public func loadInstance(modelPath: String, options: InstanceOptions) throws -> any ModelInstance {
        try ONNXRuntimeSession.load(runtime: runtime, modelPath: modelPath)
    }
}
