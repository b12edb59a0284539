import Foundation
import Logging
import SwerveCore
import SwerveTesting
import SwerveTensorFlow
import Synchronization
import Testing

/// The real TensorFlow from the project's `.venv-frameworks`, and the small SavedModels that
/// `scripts/make_tf_models.py` writes with it, each with an input and the output TensorFlow
/// computed for it in the script's process.
///
/// Tests that need them are enabled when TensorFlow can be opened, and always when
/// `SWERVE_REQUIRE_TF=1`, so that a missing library fails the run instead of skipping it.
enum TFFixture {
    /// Whether `SWERVE_REQUIRE_TF=1` asks for failures instead of skips.
    static let required = ProcessInfo.processInfo.environment["SWERVE_REQUIRE_TF"] == "1"

    /// The backend every test shares: TensorFlow's thread pools are process-wide anyway.
    static let backend = TensorFlowBackend(libraryPath: nil, intraOpThreads: 2, interOpThreads: 1, logger: Logger(label: "swerve.tests.tensorflow"))

    /// Opening the library: nothing, or the error that said where it looked.
    static let opened: Result<Void, SwerveError> = {
        do throws(SwerveError) {
            try backend.openLibrary()
            return .success(())
        } catch {
            return .failure(error)
        }
    }()

    /// Whether tests that need TensorFlow should run.
    static var runsTFTests: Bool {
        if case .success = opened { return true }
        return required
    }

    /// The repository's root, from this file's path.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The Python of the virtual environment that holds the loaded library, else the project's
    /// `.venv-frameworks/bin/python`.
    static let python: String? = {
        var candidates: [String] = []
        if let path = backend.libraryPath, let range = path.range(of: "/lib/python3") {
            candidates.append(String(path[..<range.lowerBound]) + "/bin/python")
        }
        candidates.append(repositoryRoot + "/.venv-frameworks/bin/python")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// The folder `make_tf_models.py` wrote the small models into. It is kept in the temporary
    /// folder under a name derived from the script's contents, so that later test runs reuse it
    /// until the script changes.
    static let models: Result<String, SwerveError> = {
        let script = repositoryRoot + "/scripts/make_tf_models.py"
        guard let contents = FileManager.default.contents(atPath: script) else {
            return .failure(SwerveError.internal("cannot read \(script)"))
        }
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("swerve-tf-models-" + String(fingerprint(contents), radix: 16)).path
        if FileManager.default.fileExists(atPath: folder + "/complete") {
            return .success(folder)
        }
        guard let python else {
            return .failure(SwerveError.internal("no .venv-frameworks/bin/python to write the test models; run scripts/setup.sh"))
        }
        // Written beside the final folder and renamed into place, so that a concurrent test run
        // never sees half of it.
        let staging = folder + ".\(UUID().uuidString)"
        do {
            try ModelScript.run(python: python, arguments: [script, staging], what: "make_tf_models.py")
            guard FileManager.default.createFile(atPath: staging + "/complete", contents: Data()) else {
                return .failure(SwerveError.internal("cannot write \(staging)/complete"))
            }
            if rename(staging, folder) != 0 {
                // Another run got there first; its folder is as good.
                try FileManager.default.removeItem(atPath: staging)
            }
            return .success(folder)
        } catch {
            return .failure(SwerveError.internal("could not run \(python) \(script): \(error)"))
        }
    }()

    /// FNV-1a over `data`: a cheap name for the script's version.
    static func fingerprint(_ data: Data) -> UInt64 {
        data.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    /// A folder written by `make_tf_models.py OUT --models resnet50`, named by `SWERVE_TF_RESNET50`.
    static let resNet50Folder = ProcessInfo.processInfo.environment["SWERVE_TF_RESNET50"]

    /// `<models>/<name>/1/model.savedmodel`.
    static func savedModel(_ name: String) throws -> String {
        try models.get() + "/\(name)/1/model.savedmodel"
    }

    /// Loads a generated model with the given configuration.
    static func load(_ name: String, config: Inference_ModelConfig? = nil) throws -> any ModelInstance {
        try backend.loadInstance(modelPath: try savedModel(name), options: InstanceOptions(config: config))
    }

    /// A configuration whose parameter `key` is `value`.
    static func config(parameter key: String, _ value: String) -> Inference_ModelConfig {
        var parameter = Inference_ModelParameter()
        parameter.stringValue = value
        var config = Inference_ModelConfig()
        config.parameters[key] = parameter
        return config
    }

    /// Calls `body` with the path of a copy of a generated SavedModel in a new temporary folder,
    /// to damage, and removes the folder afterwards.
    static func withCopyOfSavedModel(_ name: String, _ body: (String) throws -> Void) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-tf-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: try savedModel(name), toPath: folder + "/model.savedmodel")
        try body(folder + "/model.savedmodel")
    }
}
