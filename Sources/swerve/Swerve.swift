import ArgumentParser

/// The `swerve` command: serves models, or checks a model repository.
@main
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
