/// Runs blocking work (loading a model, warming it up) on one dedicated thread instead of Swift's
/// cooperative pool, which has one thread per core and must never block.
///
/// One thread is enough, since the model manager runs one load at a time (``LoadGate``), and it
/// keeps every model's allocations in one malloc arena: what an evicted model frees is reused by
/// the next load instead of being left as holes in another thread's arena (with a thousand models
/// loaded and evicted in turn, a Dispatch pool's threads left the server 9 MiB larger).
enum Blocking {
    private static let thread = WorkerPool(name: "swerve-load", threads: 1)

    /// Runs `work` on the loading thread and returns its result.
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await thread.run(work)
    }
}
