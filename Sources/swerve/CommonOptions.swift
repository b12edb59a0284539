import ArgumentParser
import Logging
import SwerveCore
import SwerveImage
import SwerveONNXRuntime

/// Options shared by `serve` and `check`.
struct CommonOptions: ParsableArguments {
    @Option(name: [.customLong("model-repository"), .customLong("model-store")], help: ArgumentHelp("The model repository folder (Triton layout: <name>/<version>/model.onnx); --model-store is Triton's other name for it.", valueName: "dir"))
    var modelRepository: String

    @Option(name: .long, help: ArgumentHelp("Serve a model.onnx placed straight in the repository folder (KServe's storage layout, /mnt/models/model.onnx) as version 1 of this model.", valueName: "name"))
    var defaultModelName: String?

    /// The repository the flags name.
    var repository: ModelRepository {
        ModelRepository(root: modelRepository, defaultModelName: defaultModelName)
    }

    func validate() throws {
        if let name = defaultModelName {
            do {
                try RepositoryPath.checkModelName(name)
            } catch {
                throw ValidationError("--default-model-name: \(SwerveError.clientMessage(error))")
            }
        }
    }

    @Option(name: .long, help: ArgumentHelp("Path of libonnxruntime.so. Otherwise: $SWERVE_ONNXRUNTIME_LIB, then lib/ beside the executable's folder (make dist), then the project's .venv, then the system loader.", valueName: "path"))
    var onnxruntimeLib: String?

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: ArgumentHelp("max_batch_size given to models without a config that have a variable first dimension.", valueName: "n"))
    var defaultMaxBatchSize: Int = 64

    /// Opens ONNX Runtime, or exits with the error that says where it looked.
    /// - Parameter intraOpThreads: the threads of ONNX Runtime's one intra-op pool, shared by
    ///   every model; nil: the CPUs this process may use (``CPUBudget``).
    func makeBackend(intraOpThreads: Int? = nil) throws -> ONNXRuntimeBackend {
        do {
            return try ONNXRuntimeBackend(libraryPath: onnxruntimeLib, intraOpThreads: intraOpThreads ?? CPUBudget.available())
        } catch {
            throw StartupFailure("\(error)")
        }
    }

    /// ONNX Runtime (opened now: the server needs it) and every other runtime, whose libraries
    /// open on their first model's load.
    func makeBackends(intraOpThreads: Int? = nil) throws -> (onnxRuntime: ONNXRuntimeBackend, set: BackendSet) {
        let onnxRuntime = try makeBackend(intraOpThreads: intraOpThreads)
        return (onnxRuntime, BackendSet([onnxRuntime]))
    }

    /// Builds a model's image pipeline from its config parameters (nil when it declares none).
    static let makePreprocessor: @Sendable (Inference_ModelConfig) throws -> (any InputPreprocessor)? = { config in
        try ImagePipeline(parameters: config.parameters.mapValues(\.stringValue))
    }

    /// Logs to standard error at `level` (default: `--log-level`).
    func bootstrapLogging(level: Logger.Level? = nil) {
        let level = level ?? logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
