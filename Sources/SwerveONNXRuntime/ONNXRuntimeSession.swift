import Glibc
import SwerveCore

/// One loaded ONNX model: an ONNX Runtime session and the signature read from it.
///
/// ``run(inputs:outputs:)`` may be called from many threads at once; ONNX Runtime allows
/// concurrent `Run` calls on one session.
public final class ONNXRuntimeSession: ModelInstance, @unchecked Sendable {
    // @unchecked: every stored property is immutable after init and only read afterwards. ONNX
    // Runtime documents `OrtSession::Run` as safe to call concurrently; the CPU memory info is
    // only passed by const pointer; the C name strings and the empty buffer are never written
    // after init and are freed in deinit, when no caller can hold the session any more.

    /// The inputs and outputs read from the model file.
    public let signature: ModelSignature

    let runtime: ORTRuntime
    let session: OpaquePointer
    /// Describes CPU memory owned by Swerve, for wrapping input buffers without copying them.
    let memoryInfo: OpaquePointer
    /// Each input's declaration and its name as a C string, by name.
    let inputs: [String: Binding]
    /// Each servable output's declaration and its name as a C string, by name.
    let outputs: [String: Binding]
    /// A valid, never-read address for zero-length inputs (ONNX Runtime wants a non-NULL pointer).
    let emptyBuffer: UnsafeMutableRawPointer

    /// A tensor the model declares, with its name ready to hand to ONNX Runtime.
    struct Binding {
        let spec: TensorSpec
        let cName: UnsafeMutablePointer<CChar>
    }

    var api: ORTAPI { runtime.api }

    private init(runtime: ORTRuntime, session: OpaquePointer, memoryInfo: OpaquePointer, signature: ModelSignature) {
        self.runtime = runtime
        self.session = session
        self.memoryInfo = memoryInfo
        self.signature = signature
        func bindings(_ specs: [TensorSpec]) -> [String: Binding] {
            Dictionary(specs.map { ($0.name, Binding(spec: $0, cName: strdup($0.name)!)) }, uniquingKeysWith: { first, _ in first })
        }
        self.inputs = bindings(signature.inputs)
        self.outputs = bindings(signature.outputs)
        self.emptyBuffer = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
    }

    /// The options every session is created with (released by the caller).
    static func makeSessionOptions(_ api: ORTAPI) throws(SwerveError) -> OpaquePointer? {
        var sessionOptions: OpaquePointer?
        try api.check(api.createSessionOptions(&sessionOptions), "creating session options")
        do throws(SwerveError) {
            try configure(sessionOptions, api)
        } catch {
            api.releaseSessionOptions(sessionOptions)
            throw error
        }
        return sessionOptions
    }

    private static func configure(_ sessionOptions: OpaquePointer?, _ api: ORTAPI) throws(SwerveError) {
        // No threads of its own: a session with its own pool of n threads started n - 1 of them,
        // and creating them was part of every load (dense_tiny: CreateSession 311 µs with a
        // 2-thread pool, 649 µs with 16, 256 µs on the global pools).
        try api.check(api.disablePerSessionThreads(sessionOptions), "turning off per-session threads")
        // All optimizations for every model, small ones included. A cheaper level does load a
        // tiny model faster (dense_tiny, 1.2 KB: CreateSession 140 µs with none, 180 µs basic,
        // 256 µs all), but a file's size does not say what its runs lose: dense_tiny runs 0.4 µs
        // slower basic and 0.9 µs with none (6.1, 6.6 against 5.7 µs), while a 30 KB four-layer
        // CNN runs 2.5 times slower basic (256 against 104 µs) and a 450 KB one 1.5 times (1.62
        // against 1.05 ms), losing after one or two requests what the load saved (280, 720 µs).
        // (ONNX Runtime 1.32, 2 cores, medians.)
        try api.check(api.setSessionGraphOptimizationLevel(sessionOptions, ORTConstant.enableAllOptimizations), "setting the optimization level")
        try api.check(api.setSessionExecutionMode(sessionOptions, ORTConstant.sequentialExecution), "setting the execution mode")
        // ONNX Runtime's CPU arena keeps the largest batch's intermediate tensors for good (the
        // classifier held 100 MB after a burst of 8-image batches); without it they come from
        // malloc, whose free memory the server gives back when requests stop (IdleMemoryRelease).
        try api.check(api.disableCpuMemArena(sessionOptions), "turning off the CPU memory arena")
    }

    deinit {
        api.releaseSession(session)
        api.releaseMemoryInfo(memoryInfo)
        for binding in inputs.values { Glibc.free(binding.cName) }
        for binding in outputs.values { Glibc.free(binding.cName) }
        emptyBuffer.deallocate()
    }

    /// Creates a session for the model file at `modelPath`, running on the runtime's global thread
    /// pools, and reads its signature.
    /// - Throws: ``SwerveError`` "failed to load ONNX model at PATH: ..." (`invalidArgument` when
    ///   the file is missing or not a valid model or has an input Swerve cannot serve, `internal`
    ///   otherwise).
    static func load(runtime: ORTRuntime, modelPath: String) throws(SwerveError) -> ONNXRuntimeSession {
        let api = runtime.api
        let sessionOptions = try makeSessionOptions(api)
        // The session keeps its own copy of the options.
        defer { api.releaseSessionOptions(sessionOptions) }

        var created: OpaquePointer?
        do {
            try api.check(api.createSession(runtime.env, modelPath, sessionOptions, &created))
        } catch {
            throw SwerveError(
                error.isModelFileError ? .invalidArgument : .internal,
                "failed to load ONNX model at \(modelPath): \(error.message)", cause: error
            )
        }
        guard let session = created else {
            throw SwerveError.internal("failed to load ONNX model at \(modelPath): ONNX Runtime returned no session")
        }
        var memoryInfo: OpaquePointer?
        do throws(SwerveError) {
            let signature = try ORTSignatureReader(runtime: runtime, session: session, modelPath: modelPath).read()
            try api.check(
                api.createCpuMemoryInfo(ORTConstant.arenaAllocator, ORTConstant.memTypeDefault, &memoryInfo),
                "creating CPU memory info"
            )
            guard let memoryInfo else {
                throw SwerveError.internal("ONNX Runtime returned no CPU memory info")
            }
            return ONNXRuntimeSession(runtime: runtime, session: session, memoryInfo: memoryInfo, signature: signature)
        } catch {
            api.releaseSession(session)
            if let memoryInfo { api.releaseMemoryInfo(memoryInfo) }
            throw error
        }
    }
}
