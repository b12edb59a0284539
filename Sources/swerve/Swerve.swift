import ArgumentParser

/// The `swerve` command: serves models, or checks a model repository.
@main
struct Swerve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swerve",
        abstract: "Swerve serves ONNX models over KServe v2 / Triton-compatible HTTP.",
        discussion: """
            Point it at a Triton-style model repository (models/<name>/<version>/model.onnx, optional \
            config.pbtxt) and call it with curl or tritonclient.
            """,
        version: "swerve 0.1.0",
        subcommands: [ServeCommand.self, CheckCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
