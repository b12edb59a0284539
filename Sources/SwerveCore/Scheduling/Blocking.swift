import Dispatch

/// Runs blocking work (loading a model, a backend call) on a Dispatch thread instead of Swift's
/// cooperative pool, which has one thread per core and must never block.
enum Blocking {
    private static let queue = DispatchQueue(label: "swerve.blocking", attributes: .concurrent)

    /// Runs `work` on a Dispatch thread and returns its result.
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
