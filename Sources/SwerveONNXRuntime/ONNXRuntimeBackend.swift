import SwerveCore

/// Serves `.onnx` models with ONNX Runtime, which is opened at run time through its C API.
///
/// The library is looked for, in order: `libraryPath`, `$SWERVE_ONNXRUNTIME_LIB`, the
/// `onnxruntime` wheel in a `.venv` in the current directory or above the executable, then the
/// system loader. One ONNX Runtime environment is shared by every session in the process.
///
/// ```swift
/// let backend = try ONNXRuntimeBackend()
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
    /// - Parameter libraryPath: the `libonnxruntime.so` to try first (the `--onnxruntime-lib` flag).
    /// - Throws: ``SwerveError`` listing every place looked and how to install ONNX Runtime, or
    ///   saying that the library found is older than 1.20.
    public init(libraryPath: String? = nil) throws {
        runtime = try ORTRuntime.shared(explicitPath: libraryPath)
    }

    /// The library file actually loaded.
    public var libraryPath: String { runtime.library.path }

    /// ONNX Runtime's version, e.g. `"1.32.0"`.
    public var version: String { runtime.library.version }

    /// Creates an ONNX Runtime session for the model at `modelPath` with `options`' thread
    /// counts, all graph optimizations and sequential execution, and reads its signature.
    /// - Throws: ``SwerveError`` "failed to load ONNX model at PATH: ...".
    public func loadInstance(modelPath: String, options: InstanceOptions) throws -> any ModelInstance {
        try ONNXRuntimeSession.load(runtime: runtime, modelPath: modelPath, options: options)
    }
}
