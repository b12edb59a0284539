/// Validates a model repository without serving it: for each model and version, the completed
/// configuration or every problem found, with the fix in plain words (`swerve check`).
public struct RepositoryCheck: Sendable {
    /// What was found for one model version.
    public struct VersionReport: Sendable {
        /// The version number.
        public var version: Int
        /// The inputs and outputs it would serve, when it loads.
        public var io: ModelIO?
        /// Outputs it would leave out.
        public var unsupportedOutputs: [UnsupportedTensor]
        /// The problem that would stop it loading.
        public var problem: String?
    }

    /// What was found for one model.
    public struct ModelReport: Sendable {
        /// The model name.
        public var name: String
        /// A problem with the model as a whole (its configuration, its folders).
        public var problem: String?
        /// The versions its policy selects.
        public var versions: [VersionReport]
        /// True when the model and every selected version would load.
        public var ok: Bool { problem == nil && versions.allSatisfy { $0.problem == nil } }
    }

    let repository: ModelRepository
    let backends: BackendSet
    let completion: ModelConfigCompletion
    let makePreprocessor: (@Sendable (Inference_ModelConfig) throws -> (any InputPreprocessor)?)?

    /// Creates a check of `repository` with `backends`; `makePreprocessor` checks image settings.
    public init(
        repository: ModelRepository, backends: BackendSet, completion: ModelConfigCompletion,
        makePreprocessor: (@Sendable (Inference_ModelConfig) throws -> (any InputPreprocessor)?)? = nil
    ) {
        self.repository = repository
        self.backends = backends
        self.completion = completion
        self.makePreprocessor = makePreprocessor
    }

    /// Checks every model of the repository.
    /// - Throws: only when the repository cannot be read.
    public func run() throws -> [ModelReport] {
        try repository.scan().map(check)
    }

    /// Checks one model folder.
    public func check(_ entry: ModelRepository.Entry) -> ModelReport {
        var report = ModelReport(name: entry.name, problem: nil, versions: [])
        let parsed: ModelConfigText.Parsed?
        do {
            parsed = try entry.configText.map(ModelConfigText.parse)
        } catch {
            report.problem = "\(error)"
            return report
        }
        let versions = VersionPolicy(parsed?.config.versionPolicy ?? .init()).select(from: entry.versions)
        if entry.versions.isEmpty {
            report.problem = "no version folder: put the model file (\(backends.modelFilenames)) at \(entry.path)/1/"
            return report
        }
        if versions.isEmpty {
            report.problem = "no version matches version_policy (found \(entry.versions)); change the policy or add the version folders"
            return report
        }
        for version in versions {
            var versionReport = VersionReport(version: version, io: nil, unsupportedOutputs: [], problem: nil)
            do {
                let backend = try backends.select(config: parsed?.config, versionPath: entry.versionPath(version))
                let filename = parsed.flatMap { $0.config.defaultModelFilename.isEmpty ? nil : $0.config.defaultModelFilename }
                    ?? backend.defaultModelFilename
                let path = entry.versionPath(version) + "/" + filename
                let instance = try backend.loadInstance(modelPath: path, options: InstanceOptions(config: parsed?.config))
                versionReport.unsupportedOutputs = instance.signature.unsupportedOutputs
                let completed = try completion.complete(parsed, modelName: entry.name, signature: instance.signature, backend: backend)
                _ = try makePreprocessor?(completed.config)
                versionReport.io = completed.io
            } catch {
                versionReport.problem = "\(error)"
            }
            report.versions.append(versionReport)
        }
        return report
    }
}
