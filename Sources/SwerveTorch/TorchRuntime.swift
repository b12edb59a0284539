import SwerveCore
import Synchronization

/// The opened shim and the intra-op threads libtorch runs with, shared by every module the
/// process loads from that shim.
///
/// libtorch's thread settings are process-wide: the first runtime created sets them (see
/// ``shared(explicitPath:threads:)``), and a later one reports what is in effect.
struct TorchRuntime: Sendable {
    /// The shim and its functions.
    let library: TorchShimLibrary
    /// libtorch's intra-op threads (`at::get_num_threads`), the calling thread included.
    let intraOpThreads: Int

    /// The functions Swerve calls.
    var api: TorchShimAPI { library.api }

    /// Runtimes already created, by shim path.
    private static let opened = Mutex<[String: TorchRuntime]>([:])

    /// Finds the shim (see ``TorchShimLibrary/locate(explicitPath:)``) and returns its runtime,
    /// opening it and setting libtorch's threads the first time.
    ///
    /// `threads` (at least 1) becomes libtorch's intra-op thread count when this call is the
    /// process's first to set it; the inter-op pool (used only by `torch.jit.fork`) gets 1 thread.
    /// - Throws: ``SwerveError``: `unavailable` listing where the shim was looked for and how to
    ///   build it; `internal` when libtorch refuses the thread settings.
    static func shared(explicitPath: String?, threads: Int) throws(SwerveError) -> TorchRuntime {
        try opened.withLock { (opened: inout [String: TorchRuntime]) throws(SwerveError) -> TorchRuntime in
            let library = try TorchShimLibrary.locate(explicitPath: explicitPath)
            if let runtime = opened[library.path] {
                return runtime
            }
            let (inEffect, error) = library.api.capturingError { library.api.setThreads(Int32(clamping: max(1, threads)), 1, $0) }
            guard inEffect > 0 else {
                throw SwerveError.internal("libtorch refused its thread settings: \(error ?? "no message")")
            }
            let runtime = TorchRuntime(library: library, intraOpThreads: Int(inEffect))
            opened[library.path] = runtime
            return runtime
        }
    }
}
