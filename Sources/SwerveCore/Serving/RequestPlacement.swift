/// Which requests a frontend may handle on the thread that read them off the network (a SwiftNIO
/// event loop, which has other connections to read) instead of handing them to Swift's global
/// executor: those whose work is short and bounded by their size, when that size is small. The
/// HTTP and gRPC frontends both ask here, so they place the same request the same way.
public enum RequestPlacement {
    /// The most body (or tensor) bytes of a request handled where it was read: a tiny model's
    /// request is well under it (16×16 floats are about 3 KB of JSON), and decoding this much
    /// JSON takes tens of microseconds.
    public static let maxInlineBytes = 16 * 1024

    /// Whether requests of `category` do short work bounded by their own size: health, metadata,
    /// inference and model configuration answer from memory (a model that is not fast runs on
    /// its instance threads either way). The repository and management endpoints read the file
    /// system and wait on loads; statistics, trace, logging and shared memory grow with the models
    /// served or reach into the system; so do the endpoints of no category (`/metrics`).
    public static func isShortWork(_ category: RestrictedCategory?) -> Bool {
        switch category {
        case .health?, .metadata?, .inference?, .modelConfig?: true
        case .statistics?, .sharedMemory?, .modelRepository?, .trace?, .logging?, nil: false
        }
    }

    /// Whether a request of `category` carrying `bytes` of payload may be handled where it was read.
    public static func staysWhereRead(_ category: RestrictedCategory?, bytes: Int) -> Bool {
        isShortWork(category) && bytes <= maxInlineBytes
    }
}
