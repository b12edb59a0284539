/// Triton's shared-memory parameters of inputs, outputs and requests. Swerve implements no shared
/// memory (see ``InferenceServer/registerSharedMemory(_:)``), so a request that names a region
/// is refused the same way by every protocol.
public enum SharedMemoryParameters {
    /// The parameter names that place a tensor in shared memory.
    public static let names = ["shared_memory_region", "shared_memory_offset", "shared_memory_byte_size"]

    /// Refuses parameters that place a tensor in shared memory.
    /// - Parameter what: the place, for the message (`input 'x'`, `output 'y'`, `the request`).
    /// - Throws: `invalidArgument` naming the parameter.
    public static func reject(_ keys: some Sequence<String>, of what: @autoclosure () -> String) throws {
        for key in keys where names.contains(key) {
            throw SwerveError.invalid(
                "\(what()) uses the '\(key)' parameter, but this server does not support shared memory; send the data in the request")
        }
    }
}
