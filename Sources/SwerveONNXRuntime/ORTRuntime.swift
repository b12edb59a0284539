import SwerveCore
import Synchronization

/// An opened ONNX Runtime library with its one `OrtEnv` and its default allocator, shared by every
/// session the process creates from that library.
///
/// There is one per loaded library file for the life of the process: ONNX Runtime's environment
/// is a process-wide singleton that must outlive every session, so it is never released.
final class ORTRuntime: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init. The two handles are documented
    // by ONNX Runtime as safe to share: the `OrtEnv` is used by concurrent `CreateSession` calls,
    // and the default allocator is a process-wide, thread-safe CPU allocator.

    /// The library and its function table.
    let library: ORTLibrary
    /// The process's `OrtEnv` (logging at WARNING, log id "swerve").
    let env: OpaquePointer
    /// `GetAllocatorWithDefaultOptions`'s allocator; owned by ONNX Runtime, never released.
    let allocator: OpaquePointer

    /// The functions Swerve calls.
    var api: ORTAPI { library.api }

    private init(library: ORTLibrary, env: OpaquePointer, allocator: OpaquePointer) {
        self.library = library
        self.env = env
        self.allocator = allocator
    }

    /// Runtimes already created, by library path.
    private static let opened = Mutex<[String: ORTRuntime]>([:])

    /// Finds the library (see ``ORTLibrary/locate(explicitPath:)``) and returns its runtime,
    /// creating the `OrtEnv` the first time that library is used.
    static func shared(explicitPath: String?) throws(SwerveError) -> ORTRuntime {
        let library = try ORTLibrary.locate(explicitPath: explicitPath)
        return try opened.withLock { (opened: inout [String: ORTRuntime]) throws(SwerveError) -> ORTRuntime in
            if let runtime = opened[library.path] {
                return runtime
            }
            let runtime = try create(library)
            opened[library.path] = runtime
            return runtime
        }
    }

    private static func create(_ library: ORTLibrary) throws(SwerveError) -> ORTRuntime {
        let api = library.api
        var env: OpaquePointer?
        try api.check(api.createEnv(ORTConstant.loggingLevelWarning, "swerve", &env), "creating its environment")
        var allocator: OpaquePointer?
        try api.check(api.getAllocatorWithDefaultOptions(&allocator), "getting its default allocator")
        guard let env, let allocator else {
            throw SwerveError.internal("ONNX Runtime returned no environment or allocator")
        }
        return ORTRuntime(library: library, env: env, allocator: allocator)
    }
}
