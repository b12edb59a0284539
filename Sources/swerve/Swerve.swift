import ArgumentParser
import Dispatch

/// The process's entry point: runs ``Swerve`` in a task and parks the main thread until it ends.
///
/// An `async` main would hand the main thread to Dispatch's main queue, which valgrind 3.19
/// (callgrind, for the instruction counts of `make bench`) cannot follow: it stops with SIGSEGV
/// before the first instruction of the command. Swerve uses neither the main queue nor the main
/// actor, so a main thread that only waits changes nothing else. `Swerve.main()` exits the process
/// itself on an error or `--help`, and returns when the command succeeds.
@main
enum SwerveEntry {
    static func main() {
        let done = DispatchSemaphore(value: 0)
        // Detached: a task made here would inherit the main actor, whose queue this thread never drains.
        Task.detached {
            await Swerve.main()
            done.signal()
        }
        done.wait()
    }
}

/// The `swerve` command: serves models, or checks a model repository.
struct Swerve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swerve",
        abstract: "Swerve serves ONNX, TensorFlow SavedModel and TorchScript models over KServe v2 (Triton-compatible HTTP and gRPC), TorchServe's APIs and TensorFlow Serving REST.",
        discussion: """
            Point it at a Triton-style model repository (models/<name>/<version>/model.onnx, model.savedmodel or model.pt, optional \
            config.pbtxt) and call it with curl, tritonclient or perf_analyzer. `swerve` alone runs `swerve serve`.

            \(ServeCommand.helpMessage(columns: 10_000))
            \(CheckCommand.helpMessage(columns: 10_000))
            """,
        version: "swerve 0.1.0",
        subcommands: [ServeCommand.self, CheckCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
