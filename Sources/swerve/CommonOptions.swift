import Foundation
import ArgumentParser
import Logging
import SwerveCore
import SwerveImage
import SwerveONNXRuntime
import SwerveTensorFlow
import SwerveTorch

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

    @Option(name: .long, help: ArgumentHelp("Path of TensorFlow's libtensorflow_cc.so.2, or the wheel's tensorflow folder (tensorflow_savedmodel models). Otherwise: $SWERVE_TENSORFLOW_LIB, then the project's .venv-frameworks, then the system loader. Opened when the first SavedModel loads.", valueName: "path"))
    var tensorflowLib: String?

    @Option(name: .long, help: ArgumentHelp("Path of Swerve's libtorch shim, libswerve_torch_shim.so (pytorch_libtorch models; scripts/setup.sh builds it). Otherwise: $SWERVE_TORCH_SHIM, then the project's .build-native. Opened when the first TorchScript model loads.", valueName: "path"))
    var torchShim: String?

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

    /// ONNX Runtime (opened now: the server needs it), TensorFlow and libtorch, whose libraries
    /// open when their first model loads. Each runtime has one intra-op pool for all its models,
    /// sized from the same CPU budget (``CPUBudget``); TensorFlow runs a graph's operations on the
    /// calling thread (no inter-op pool).
    func makeBackends(intraOpThreads: Int? = nil) throws -> (onnxRuntime: ONNXRuntimeBackend, set: BackendSet) {
        let threads = intraOpThreads ?? CPUBudget.available()
        let onnxRuntime = try makeBackend(intraOpThreads: threads)
        let torch = TorchBackend(shimPath: torchShim, threads: threads, logger: Logger(label: "swerve.torch"))
        // TensorFlow logs each SavedModel load at INFO on stderr, around Swerve's log; warnings
        // and errors stay. Set before any TensorFlow code runs (it reads the variable once), while
        // nothing else reads the environment; a value the user set is kept.
        setenv("TF_CPP_MIN_LOG_LEVEL", "1", 0)
        let tensorflow = TensorFlowBackend(libraryPath: tensorflowLib, intraOpThreads: threads, interOpThreads: 1, logger: Logger(label: "swerve.tensorflow"))
        return (onnxRuntime, BackendSet([onnxRuntime, tensorflow, torch]))
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
