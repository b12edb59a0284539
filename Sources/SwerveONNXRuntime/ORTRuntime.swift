import Foundation
import SwerveCore
import Synchronization

/// An opened ONNX Runtime library with its one `OrtEnv` and its default allocator, shared by every
/// session the process creates from that library.
///
/// There is one per loaded library file for the life of the process: ONNX Runtime's environment
/// is a process-wide singleton that must outlive every session, so it is never released.
///
/// The environment owns the process's ONNX Runtime threads: one intra-op pool of
/// ``intraOpThreads`` (the calling thread plus `intraOpThreads - 1` workers) that every session
/// runs on (each disables its own pools), so 500 models cost no more threads than one. There is
/// no inter-op pool (size 1): every session executes its graph sequentially. Spinning is left at
/// ONNX Runtime's default (workers spin briefly before sleeping): on ResNet-50, batch 1, 2 threads,
/// turning it off did not make runs faster (p50 38.2 ms spinning, 39.3 ms not, on 2 cores).
final class ORTRuntime: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init. The two handles are documented
    // by ONNX Runtime as safe to share: the `OrtEnv` is used by concurrent `CreateSession` calls,
    // and the default allocator is a process-wide, thread-safe CPU allocator.

    /// The library and its function table.
    let library: ORTLibrary
    /// The process's `OrtEnv` (logging at WARNING, log id "swerve"), with the global thread pools.
    let env: OpaquePointer
    /// The threads of the global intra-op pool, the calling thread included.
    let intraOpThreads: Int
    /// `GetAllocatorWithDefaultOptions`'s allocator; owned by ONNX Runtime, never released.
    let allocator: OpaquePointer

    /// The functions Swerve calls.
    var api: ORTAPI { library.api }

    private init(library: ORTLibrary, env: OpaquePointer, intraOpThreads: Int, allocator: OpaquePointer) {
        self.library = library
        self.env = env
        self.intraOpThreads = intraOpThreads
        self.allocator = allocator
    }

    /// Runtimes already created, by library path.
    private static let opened = Mutex<[String: ORTRuntime]>([:])

    /// Finds the library (see ``ORTLibrary/locate(explicitPath:)``) and returns its runtime,
    /// creating the `OrtEnv` the first time that library is used.
    ///
    /// `intraOpThreads` (at least 1) sizes the global intra-op pool only when this call creates
    /// the environment; later calls for the same library get the runtime as first created.
    static func shared(explicitPath: String?, intraOpThreads: Int) throws(SwerveError) -> ORTRuntime {
        // ONNX Runtime 1.32 otherwise keeps a device id and an event database under
        // ~/.cache/Microsoft and tries to upload them: a server writes nothing of the kind. Read
        // when the library starts; set before it is opened, and kept when the user set it.
        setenv("ORT_DISABLE_TELEMETRY", "1", 0)
        let library = try ORTLibrary.locate(explicitPath: explicitPath)
        return try opened.withLock { (opened: inout [String: ORTRuntime]) throws(SwerveError) -> ORTRuntime in
            if let runtime = opened[library.path] {
                return runtime
            }
            let runtime = try create(library, intraOpThreads: max(1, intraOpThreads))
            opened[library.path] = runtime
            return runtime
        }
    }

    private static func create(_ library: ORTLibrary, intraOpThreads: Int) throws(SwerveError) -> ORTRuntime {
        let api = library.api
        var threading: OpaquePointer?
        try api.check(api.createThreadingOptions(&threading), "creating threading options")
        // The environment copies what it needs.
        defer { api.releaseThreadingOptions(threading) }
        try api.check(api.setGlobalIntraOpNumThreads(threading, Int32(clamping: intraOpThreads)), "setting the intra-op threads")
        try api.check(api.setGlobalInterOpNumThreads(threading, 1), "setting the inter-op threads")
        var env: OpaquePointer?
        try api.check(
            api.createEnvWithGlobalThreadPools(ORTConstant.loggingLevelWarning, "swerve", threading, &env),
            "creating its environment"
        )
        var allocator: OpaquePointer?
        try api.check(api.getAllocatorWithDefaultOptions(&allocator), "getting its default allocator")
        guard let env, let allocator else {
            throw SwerveError.internal("ONNX Runtime returned no environment or allocator")
        }
        try api.check(api.disableTelemetryEvents(env), "turning its telemetry off")
        try warmUp(api, env: env)
        return ORTRuntime(library: library, env: env, intraOpThreads: intraOpThreads, allocator: allocator)
    }

    /// Creates and releases one session of ``ORTWarmupModel``. ONNX Runtime builds its kernel
    /// registries and pages in its session-creation code on the first session; done here, that
    /// one-time cost (about 1.6 MB of allocations and 7 MiB of the library's pages, and the
    /// slowest CreateSession) is the server's at start, not counted as the first model's memory or
    /// paid by its first request.
    private static func warmUp(_ api: ORTAPI, env: OpaquePointer) throws(SwerveError) {
        let options = try ONNXRuntimeSession.makeSessionOptions(api)
        defer { api.releaseSessionOptions(options) }
        var session: OpaquePointer?
        let bytes = ORTWarmupModel.bytes
        let status = bytes.withUnsafeBytes { buffer in
            api.createSessionFromArray(env, buffer.baseAddress, buffer.count, options, &session)
        }
        try api.check(status, "loading its warm-up model")
        api.releaseSession(session)
    }
}
