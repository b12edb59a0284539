import Foundation

/// A model configuration, and optionally model files, given through the repository API's load
/// request (Triton's `config` and `file:<version>/<name>` parameters) instead of the repository.
public struct ModelOverride: Sendable {
    /// The configuration as Triton's JSON, replacing config.pbtxt.
    public var configJSON: String?
    /// Files by path relative to the model folder (`1/model.onnx`).
    public var files: [String: [UInt8]]

    /// Creates an override.
    public init(configJSON: String?, files: [String: [UInt8]] = [:]) {
        self.configJSON = configJSON
        self.files = files
    }

    /// Parses the configuration and, when files are given, writes them to a new folder.
    /// - Returns: the model folder to load from and the configuration.
    func materialize(name: String, repository: ModelRepository, modelFilename: String) throws -> (ModelRepository.Entry, ModelConfigText.Parsed?) {
        var parsed: ModelConfigText.Parsed?
        if let configJSON {
            try JSONNesting.check(configJSON.utf8)
            do {
                let config = try Inference_ModelConfig(jsonString: configJSON)
                let keys = (try? JSONSerialization.jsonObject(with: Data(configJSON.utf8)) as? [String: Any])?.keys ?? [String: Any]().keys
                parsed = ModelConfigText.Parsed(config: config, explicitFields: Set(keys))
            } catch {
                throw SwerveError.invalid("the 'config' parameter is not a valid model configuration JSON: \(error)")
            }
        }
        guard !files.isEmpty else {
            guard var entry = repository.entry(named: name) else {
                throw SwerveError.notFound("model '\(name)' is not in the model repository '\(repository.root)'")
            }
            if parsed != nil { entry.configText = nil }
            return (entry, parsed)
        }
        guard parsed != nil else {
            throw SwerveError.invalid("model files given with 'file:' parameters need a 'config' parameter too")
        }
        // Every name is checked before the first file is written, inside a folder made for this
        // request alone, which goes again if anything fails.
        try RepositoryPath.checkModelName(name)
        let uploads = try files.map { (components: try RepositoryPath.uploadComponents($0.key), path: $0.key, bytes: $0.value) }
        let root = NSTemporaryDirectory() + "swerve-override-" + UUID().uuidString
        let fm = FileManager.default
        do {
            for upload in uploads {
                let folder = ([root, name] + upload.components.dropLast()).joined(separator: "/")
                do {
                    try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
                } catch {
                    throw SwerveError.invalid("cannot write the uploaded file '\(upload.path)': a file and a folder share a name")
                }
                guard fm.createFile(atPath: folder + "/" + upload.components.last!, contents: Data(upload.bytes)) else {
                    throw SwerveError.invalid("cannot write the uploaded file '\(upload.path)': a file and a folder share a name")
                }
            }
            guard let entry = ModelRepository(root: root).entry(named: name), !entry.versions.isEmpty else {
                throw SwerveError.invalid("the uploaded files hold no numeric version folder (use 'file:1/\(modelFilename)')")
            }
            return (ModelRepository.Entry(name: entry.name, path: entry.path, versions: entry.versions, configText: nil), parsed)
        } catch {
            try? fm.removeItem(atPath: root)
            throw error
        }
    }
}
