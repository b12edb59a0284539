import Foundation

/// The runtimes a server can load models with (ONNX Runtime, TensorFlow, libtorch), and the rule
/// that picks one for a model version, as Triton picks its backend:
///
/// 1. the configuration's `platform` (`onnxruntime_onnx`, `tensorflow_savedmodel`,
///    `pytorch_libtorch`), else its `backend` (`onnxruntime`, `tensorflow`, `pytorch`);
/// 2. else the runtime whose default model file (`model.onnx`, `model.savedmodel`, `model.pt`)
///    is in the version folder, or is the configuration's `default_model_filename`;
/// 3. else the first runtime (ONNX Runtime), whose load then says which file it looked for.
///
/// A runtime whose library is missing is still in the set: its models fail to load with the
/// install step in the error, and every other model is served.
public struct BackendSet: Sendable {
    /// The runtimes, the default first.
    public let backends: [any InferenceBackend]

    /// Creates a set; `backends` must not be empty and the first is the default.
    public init(_ backends: [any InferenceBackend]) {
        precondition(!backends.isEmpty, "a BackendSet needs at least one backend")
        self.backends = backends
    }

    /// The default runtime (ONNX Runtime in the server).
    public var primary: any InferenceBackend { backends[0] }

    /// The runtime for the version in `versionPath` with the configuration the user gave.
    /// - Throws: ``SwerveError`` (`invalidArgument`) when the configuration names a platform or
    ///   backend no runtime here serves, listing those that are.
    public func select(config: Inference_ModelConfig?, versionPath: String) throws -> any InferenceBackend {
        if let platform = config?.platform, !platform.isEmpty {
            guard let backend = backends.first(where: { $0.platform == platform }) else {
                throw SwerveError.invalid(
                    "config field 'platform': '\(platform)' is not served here; use one of \(backends.map { "'\($0.platform)'" }.joined(separator: ", ")) (or leave it out)")
            }
            return backend
        }
        if let name = config?.backend, !name.isEmpty {
            guard let backend = backends.first(where: { $0.name == name }) else {
                throw SwerveError.invalid(
                    "config field 'backend': '\(name)' is not served here; use one of \(backends.map { "'\($0.name)'" }.joined(separator: ", ")) (or leave it out)")
            }
            return backend
        }
        if let filename = config?.defaultModelFilename, !filename.isEmpty,
           let backend = backends.first(where: { $0.defaultModelFilename == filename }) {
            return backend
        }
        for backend in backends where FileManager.default.fileExists(atPath: versionPath + "/" + backend.defaultModelFilename) {
            return backend
        }
        return primary
    }

    /// What a version folder may hold, for messages: `model.onnx, model.savedmodel or model.pt`.
    public var modelFilenames: String {
        let names = backends.map(\.defaultModelFilename)
        guard names.count > 1 else { return names.first ?? "" }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
