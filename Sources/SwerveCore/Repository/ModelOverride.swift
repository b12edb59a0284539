import Foundation

/// A model configuration, and optionally model files, given through a repository API instead of
/// the repository: Triton's load request (`config` and `file:<version>/<name>` parameters, over
/// HTTP or gRPC) or TorchServe's register and scale requests.
public struct ModelOverride: Sendable {
    /// The configuration replacing config.pbtxt, with the fields its sender set.
    public var config: ModelConfigText.Parsed?
    /// Files by path relative to the model folder (`1/model.onnx`).
    public var files: [String: [UInt8]]

    /// Creates an override from a configuration and files.
    public init(config: ModelConfigText.Parsed?, files: [String: [UInt8]] = [:]) {
        self.config = config
        self.files = files
    }

    /// One parameter of a load request, as its protocol carried it.
    public enum Parameter: Sendable {
        /// Text (HTTP's JSON strings, gRPC's `string_param`).
        case string(String)
        /// Bytes (gRPC's `bytes_param`; HTTP's base64 strings once decoded).
        case bytes([UInt8])
        /// Any other kind of value, named for the error message (`bool_param`, `a number`).
        case other(String)
    }

    /// The override a load request's parameters give: `config` (text: the configuration as
    /// Triton's JSON) and `file:<path>` (bytes: a file's contents); `nil` when they give neither.
    /// Other parameters are ignored, as Triton ignores them.
    /// - Throws: `invalidArgument` for a `config` that is not text or not a valid configuration,
    ///   a `file:` that is not bytes, or files without a `config`.
    public static func parse(_ parameters: [String: Parameter]) throws -> ModelOverride? {
        var configJSON: String?
        var files: [String: [UInt8]] = [:]
        for (key, value) in parameters {
            if key == "config" {
                guard case .string(let text) = value else {
                    throw SwerveError.invalid("the 'config' parameter must be a string holding the model configuration as JSON")
                }
                configJSON = text
            } else if key.hasPrefix("file:") {
                guard case .bytes(let bytes) = value else {
                    throw SwerveError.invalid("the '\(key.prefix(256))' parameter must hold the file's contents (bytes; base64 in JSON)")
                }
                files[String(key.dropFirst("file:".count))] = bytes
            }
        }
        if configJSON == nil && files.isEmpty { return nil }
        let parsed = try configJSON.map(parseConfigJSON)
        guard parsed != nil || files.isEmpty else {
            throw SwerveError.invalid("model files given with 'file:' parameters need a 'config' parameter too")
        }
        return ModelOverride(config: parsed, files: files)
    }

    /// Parses a configuration written as Triton's JSON; the fields present are its explicit ones.
    static func parseConfigJSON(_ text: String) throws -> ModelConfigText.Parsed {
        try JSONNesting.check(text.utf8)
        struct TopLevelKeys: Decodable {
            var keys: Set<String>
            init(from decoder: any Decoder) throws {
                keys = Set(try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue))
            }
        }
        do {
            let config = try Inference_ModelConfig(jsonString: text)
            let keys = try JSONDecoder().decode(TopLevelKeys.self, from: Data(text.utf8)).keys
            return ModelConfigText.Parsed(config: config, explicitFields: keys)
        } catch {
            throw SwerveError.invalid("the 'config' parameter is not a valid model configuration JSON: \(error)")
        }
    }

    /// Parses the configuration and, when files are given, writes them to a new folder.
    /// - Returns: the model folder to load from and the configuration.
    func materialize(name: String, repository: ModelRepository, modelFilename: String) throws -> (ModelRepository.Entry, ModelConfigText.Parsed?) {
        let parsed = config
        guard !files.isEmpty else {
            guard var entry = repository.entry(named: name) else {
                throw SwerveError.notFound("model '\(name)' is not in the model repository '\(repository.root)'")
            }
            if parsed != nil { entry.configText = nil }
            return (entry, parsed)
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
            return (ModelRepository.Entry(name: entry.name, path: entry.path, versions: entry.versions, configText: nil, isBare: entry.isBare), parsed)
        } catch {
            try? fm.removeItem(atPath: root)
            throw error
        }
    }
}

/// A coding key for any JSON object key.
private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
