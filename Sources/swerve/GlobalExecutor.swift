import NIOCore
import NIOPosix

/// Where Swift's tasks run in the `swerve` process.
enum GlobalExecutor {
    /// Makes NIO's singleton event-loop group (the HTTP listeners' loops) Swift's global
    /// executor, so that tasks resume on the event loop that woke them rather than switching to
    /// a thread of Swift's cooperative pool. Call once, first thing on the main thread, before any
    /// task is created; later calls return the first call's answer.
    /// - Returns: whether the group was installed (false where the Swift runtime offers no hook,
    ///   and tasks then run on Swift's own pool).
    @discardableResult
    static func installEventLoops() -> Bool { installed }

    /// Whether tasks run on the event loops: the result of the one installation.
    static let installed: Bool = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

    /// Where tasks run, for the log.
    static var summary: String {
        installed
            ? "Swift tasks run on the \(NIOSingletons.groupLoopCountSuggestion) HTTP event-loop threads"
            : "Swift tasks run on Swift's cooperative pool: this Swift runtime has no global executor hook"
    }
}
