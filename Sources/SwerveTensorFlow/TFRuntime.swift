import SwerveCore
import SwiftProtobuf
import Synchronization

/// An opened TensorFlow library and the session configuration every SavedModel is loaded with,
/// one per library file for the life of the process.
///
/// TensorFlow's CPU thread pools are process-wide: the intra-op pool (the threads one operation
/// splits its work over) belongs to the CPU device and the inter-op pool to all direct sessions
/// that do not ask for threads of their own, and both are created, with the sizes in the
/// configuration of the first session the process makes, when that session is made. Every session
/// here gets the same ``sessionConfig``, so the sizes are the runtime's whichever model loads
/// first, and later sessions start no threads (60 more sessions of a small model started none;
/// with `use_per_session_threads` each started two). The inter-op pool exists even when sessions
/// run their operations in the calling thread: one idle `tf_Compute` thread on 2 cores.
final class TFRuntime: Sendable {
    /// The library and its functions.
    let library: TFLibrary
    /// The threads of the shared intra-op pool.
    let intraOpThreads: Int
    /// The threads of the shared inter-op pool; 1 means none: each run executes its operations
    /// one after another in the thread that calls it.
    let interOpThreads: Int
    /// The serialized `ConfigProto` given to every session.
    let sessionConfig: [UInt8]

    /// The functions Swerve calls.
    var api: TFAPI { library.api }

    private init(library: TFLibrary, intraOpThreads: Int, interOpThreads: Int) throws(SwerveError) {
        self.library = library
        self.intraOpThreads = intraOpThreads
        self.interOpThreads = interOpThreads
        self.sessionConfig = try Self.sessionConfig(intraOpThreads: intraOpThreads, interOpThreads: interOpThreads)
    }

    /// Runtimes already created, by library path.
    private static let opened = Mutex<[String: TFRuntime]>([:])

    /// Finds the library (see ``TFLibrary/locate(explicitPath:)``) and returns its runtime,
    /// creating it the first time that library is used.
    ///
    /// The thread counts (each at least 1) count only when this call creates the runtime; later
    /// calls for the same library get the runtime as first created.
    static func shared(explicitPath: String?, intraOpThreads: Int, interOpThreads: Int) throws(SwerveError) -> TFRuntime {
        let library = try TFLibrary.locate(explicitPath: explicitPath)
        return try opened.withLock { (opened: inout [String: TFRuntime]) throws(SwerveError) -> TFRuntime in
            if let runtime = opened[library.path] {
                return runtime
            }
            let runtime = try TFRuntime(library: library, intraOpThreads: max(1, intraOpThreads), interOpThreads: max(1, interOpThreads))
            opened[library.path] = runtime
            return runtime
        }
    }

    /// The `ConfigProto` for every session: the process-wide pools (no per-session threads), the
    /// intra-op pool of `intraOpThreads`, and an inter-op pool of `interOpThreads` when that is
    /// above 1, else none: `inter_op_parallelism_threads` -1 runs each graph's operations in the
    /// calling thread, as ONNX Runtime's sequential execution does, so concurrent runs (one per
    /// instance) are not queued on a shared pool. On ResNet-50 (batch 1, 2 intra-op threads, 2
    /// busy cores) that ran at a p50 of 87-90 ms against 107-140 ms with an inter-op pool of 2.
    static func sessionConfig(intraOpThreads: Int, interOpThreads: Int) throws(SwerveError) -> [UInt8] {
        var config = Tensorflow_ConfigProto()
        config.intraOpParallelismThreads = Int32(clamping: intraOpThreads)
        config.interOpParallelismThreads = interOpThreads > 1 ? Int32(clamping: interOpThreads) : -1
        config.usePerSessionThreads = false
        do {
            return try config.serializedBytes()
        } catch {
            throw SwerveError.internal("could not encode TensorFlow's session configuration: \(error)")
        }
    }
}
