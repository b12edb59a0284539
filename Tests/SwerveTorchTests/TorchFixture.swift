import Foundation
import Logging
import SwerveCore
import SwerveTesting
@testable import SwerveTorch
import Testing

/// The torch shim built by scripts/build_torch_shim.sh, and the TorchScript models that
/// scripts/make_torch_models.py writes with Debian's Python torch (cached in
/// `.build-native/test-models`, rewritten only when the script changes).
///
/// Tests that need them are enabled when the shim can be opened, and always when
/// `SWERVE_REQUIRE_TORCH=1`, so that a missing shim fails the run instead of skipping it.
enum TorchFixture {
    /// Whether `SWERVE_REQUIRE_TORCH=1` asks for failures instead of skips.
    static let required = ProcessInfo.processInfo.environment["SWERVE_REQUIRE_TORCH"] == "1"

    /// The package's root directory, found from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The backend (two intra-op threads), opened, or the error that opening the shim gave.
    static let opened: Result<TorchBackend, SwerveError> = {
        let backend = TorchBackend(threads: 2, logger: Logger(label: "swerve.torch.tests"))
        do throws(SwerveError) {
            try backend.open()
            return .success(backend)
        } catch {
            return .failure(error)
        }
    }()

    /// Whether tests that need the shim (and the models) should run.
    static var runsTorchTests: Bool {
        if case .success = opened { return true }
        return required
    }

    /// The opened backend.
    static func backend() throws -> TorchBackend {
        try opened.get()
    }

    /// The Python that writes the models: Debian's, which has python3-torch.
    static let python = "/usr/bin/python3"

    /// The folder of the small models (every model but ResNet-50), written once.
    static let smallModels: Result<String, SwerveError> = makeModels(
        ["dense", "two_io", "int64", "identity", "inplace", "list_out", "dict_out"])

    /// The folder holding `resnet50`, written once (about 15 s and 100 MB the first time).
    static let resnet50: Result<String, SwerveError> = makeModels(["resnet50"])

    private static func makeModels(_ names: [String]) -> Result<String, SwerveError> {
        let folder = packageRoot + "/.build-native/test-models"
        return Result { () throws(SwerveError) in
            try ModelScript.run(python: python, arguments: [packageRoot + "/scripts/make_torch_models.py", folder] + names, what: "make_torch_models.py")
            return folder
        }
    }

    /// A small model's folder (`dense`, `two_io`, ...), with `config.pbtxt` and `1/model.pt`.
    static func model(_ name: String) throws -> String {
        try smallModels.get() + "/" + name
    }

    /// The parsed config.pbtxt of a model folder.
    static func config(_ folder: String) throws -> Inference_ModelConfig {
        try ModelConfigText.parse(String(contentsOfFile: folder + "/config.pbtxt", encoding: .utf8)).config
    }

    /// Loads a model folder's `1/model.pt` with its config.pbtxt, or with `config` when given.
    static func load(_ folder: String, config: Inference_ModelConfig? = nil) throws -> any ModelInstance {
        try backend().loadInstance(modelPath: folder + "/1/model.pt", options: InstanceOptions(config: config ?? self.config(folder)))
    }

    /// The folder's `input__<i>.npy` files as named inputs, in config order.
    static func inputs(_ folder: String, config: Inference_ModelConfig) throws -> [NamedTensor] {
        try config.input.enumerated().map { index, input in
            NamedTensor(name: input.name, tensor: try NPYFile.read(folder + "/input__\(index).npy"))
        }
    }

    /// The folder's `expected__<i>.npy` files, in config order.
    static func expected(_ folder: String, count: Int) throws -> [Tensor] {
        try (0..<count).map { try NPYFile.read(folder + "/expected__\($0).npy") }
    }

    /// A config for `INPUT__0` / `OUTPUT__0` of one type and dims, with max_batch_size 0.
    static func config(type: DataType, dims: [Int64]) -> Inference_ModelConfig {
        var config = Inference_ModelConfig()
        config.platform = "pytorch_libtorch"
        var input = Inference_ModelInput()
        input.name = "INPUT__0"
        input.dataType = type.configType
        input.dims = dims
        var output = Inference_ModelOutput()
        output.name = "OUTPUT__0"
        output.dataType = type.configType
        output.dims = dims
        config.input = [input]
        config.output = [output]
        return config
    }

    /// A new, empty temporary folder.
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-torch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}

extension Tensor {
    /// The buffer read back as values of `T`.
    func values<T: BitwiseCopyable>(as type: T.Type) -> [T] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / MemoryLayout<T>.size)).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
        }
    }

    /// The largest absolute difference between two FP32 tensors of the same shape.
    func maxDifference(from other: Tensor) -> Float {
        zip(values(as: Float.self), other.values(as: Float.self)).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
