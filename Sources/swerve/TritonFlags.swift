import ArgumentParser
import Logging

/// Triton's spellings of the flags a Triton deployment passes (KServe's Triton runtime, ModelMesh's
/// adapter), so that changing only the image of a Triton serving runtime works. Each one either
/// does what Triton's does or, when Swerve has no such feature, is refused with a message naming
/// it; none is silently ignored. (`--model-store` is `--model-repository`'s second name, and
/// `--allow-metrics`, `--http-port`, `--grpc-port`, `--metrics-port`, `--model-control-mode` and
/// `--load-model` are Swerve's own flags under the same names.)
struct TritonFlags: ParsableArguments {
    @Option(name: .customLong("allow-http"), help: ArgumentHelp("Serve the KServe v2 HTTP endpoint (true or false), as Triton's flag.", valueName: "bool"))
    var allowHTTP: Bool = true

    @Option(name: .customLong("allow-grpc"), help: ArgumentHelp("Serve the KServe v2 gRPC endpoint (true or false), as Triton's flag.", valueName: "bool"))
    var allowGRPC: Bool = true

    @Option(name: .long, help: ArgumentHelp("Triton's verbose logging level: 0 leaves --log-level, 1 logs at debug, 2 and more at trace.", valueName: "n"))
    var logVerbose: Int = 0

    @Option(name: .long, help: ArgumentHelp("Triton's readiness rule: true, /v2/health/ready waits until every model is ready (a model that failed keeps it unready); false, it answers ready as soon as the server answers at all. Without the flag: ready once every model has been tried.", valueName: "bool"))
    var strictReadiness: Bool?

    @Option(name: .long, help: ArgumentHelp("Triton's flag; only false is accepted: Swerve completes every configuration from the model, as Triton does with false.", valueName: "bool"))
    var strictModelConfig: Bool?

    @Option(name: .long, help: ArgumentHelp("Triton's SageMaker endpoint; only false is accepted (Swerve has none).", valueName: "bool"))
    var allowSagemaker: Bool?

    @Option(name: .customLong("allow-vertex-ai"), help: ArgumentHelp("Triton's Vertex AI endpoint; only false is accepted (Swerve has none).", valueName: "bool"))
    var allowVertexAI: Bool?

    func validate() throws {
        guard logVerbose >= 0 else { throw ValidationError("--log-verbose must be 0 or more") }
        if strictModelConfig == true {
            throw ValidationError("--strict-model-config=true is not supported: Swerve completes every model's configuration from the model itself (Triton's --strict-model-config=false); drop the flag or pass false")
        }
        if allowSagemaker == true {
            throw ValidationError("--allow-sagemaker=true is not supported: Swerve has no SageMaker endpoint; drop the flag or pass false")
        }
        if allowVertexAI == true {
            throw ValidationError("--allow-vertex-ai=true is not supported: Swerve has no Vertex AI endpoint; drop the flag or pass false")
        }
    }

    /// The log level with `--log-verbose` applied over `level`.
    func logLevel(over level: Logger.Level) -> Logger.Level {
        switch logVerbose {
        case 0: level
        case 1: min(level, .debug)
        default: .trace
        }
    }
}
