/// Model control through the server's one door: load, unload, register, scale and the default
/// version, for every API (KServe's repository extension over HTTP and gRPC, TorchServe's
/// management API), under one rule: what changes which models are loaded needs
/// `--model-control-mode explicit`.
extension InferenceServer {
    /// Loads or reloads a model, with the repository's configuration or an override.
    /// - Throws: `invalidArgument` outside explicit mode, for a model the repository lacks (the
    ///   request names something that cannot be loaded, as Triton answers) or one that fails to load.
    public func loadModel(_ name: String, override: ModelOverride? = nil) async throws {
        try requireExplicitMode()
        do {
            try await manager.load(name, override: override)
        } catch let error as SwerveError where error.code == .notFound {
            throw SwerveError.invalid("failed to load '\(name)': \(error.message)")
        }
    }

    /// Unloads every version of a model after its in-flight requests finish.
    public func unloadModel(_ name: String) async throws {
        try requireExplicitMode()
        try await manager.unload(name)
    }

    /// Unloads one version after its in-flight requests finish. The default version cannot go
    /// while other versions are served: requests without a version must not move to another
    /// version behind their clients' backs.
    /// - Throws: `notFound` for a version that is not served, `failedPrecondition` for the
    ///   default version while others are served.
    public func unloadVersion(_ name: String, version: Int) async throws {
        try requireExplicitMode()
        let ready = manager.readyVersions(name)
        guard ready.contains(version) else {
            throw SwerveError.notFound("Request for unknown model: '\(name)' version \(version) is not found")
        }
        if ready.count > 1, manager.defaultVersion(name) == version {
            throw cannotRemoveDefault(name, version: version)
        }
        try await manager.unload(name, version: version)
    }

    /// Unloads the default version of a model served in one version (TorchServe's unregister
    /// without a version); refused while other versions are served.
    public func unloadDefaultVersion(_ name: String) async throws {
        try requireExplicitMode()
        let ready = manager.readyVersions(name)
        guard let version = manager.defaultVersion(name) else {
            throw SwerveError.notFound("Request for unknown model: '\(name)' is not found")
        }
        if ready.count > 1 { throw cannotRemoveDefault(name, version: version) }
        try await manager.unload(name)
    }

    /// Makes `version` the one requests without a version go to (allowed in every mode: it
    /// changes no model's state).
    public func setDefaultVersion(_ name: String, version: Int) throws {
        try manager.setDefaultVersion(name, version: version)
    }

    /// Loads a model of the repository that is not loaded yet, with settings that replace its
    /// configuration's (TorchServe's register).
    /// - Returns: the versions loaded and the number of instances of each.
    /// - Throws: `notFound` for a model the repository lacks, `alreadyExists` for a loaded one.
    public func registerModel(_ name: String, settings: ModelServingSettings) async throws -> (versions: [Int], instances: Int) {
        try requireExplicitMode()
        try RepositoryPath.checkModelName(name)
        guard let entry = manager.repository.entry(named: name) else {
            throw SwerveError.notFound("model '\(name)' is not in the model repository")
        }
        guard manager.readyVersions(name).isEmpty else {
            throw SwerveError(.alreadyExists, "model '\(name)' is already loaded; scale it or unload it first")
        }
        var parsed = try entry.configText.map(ModelConfigText.parse) ?? ModelConfigText.Parsed(config: Inference_ModelConfig(), explicitFields: [])
        if let instances = settings.instances {
            parsed.config.instanceGroup = [Self.instanceGroup(name, count: instances)]
            parsed.explicitFields.insert("instance_group")
        }
        if let batch = settings.maxBatchSize {
            parsed.config.maxBatchSize = Int32(clamping: batch)
            parsed.explicitFields.insert("max_batch_size")
        }
        if let delay = settings.maxQueueDelayMicroseconds {
            var dynamic = parsed.config.dynamicBatching
            dynamic.maxQueueDelayMicroseconds = delay
            parsed.config.dynamicBatching = dynamic
            parsed.explicitFields.insert("dynamic_batching")
        }
        let versions = try await manager.load(name, override: ModelOverride(config: parsed))
        return (versions, max(1, Int(parsed.config.instanceGroup.reduce(0) { $0 + $1.count })))
    }

    /// Reloads a loaded model with `instances` instances; the old ones serve until the new ones
    /// are ready. The versions served stay those served now (a version unloaded on its own does
    /// not come back).
    public func scaleModel(_ name: String, instances: Int) async throws {
        try requireExplicitMode()
        let served = try manager.resolve(name, version: nil)
        var config = served.config
        config.instanceGroup = [Self.instanceGroup(name, count: instances)]
        let ready = manager.readyVersions(name)
        let available = manager.repository.entry(named: name)?.versions ?? []
        if VersionPolicy(config.versionPolicy).select(from: available) != ready {
            var specific = Inference_ModelVersionPolicy.Specific()
            specific.versions = ready.map(Int64.init)
            config.versionPolicy.specific = specific
        }
        // A completed configuration: every field is as the served version has it.
        try await manager.load(name, override: ModelOverride(config: ModelConfigText.Parsed(config: config, explicitFields: ["max_batch_size"])))
    }

    private static func instanceGroup(_ name: String, count: Int) -> Inference_ModelInstanceGroup {
        var group = Inference_ModelInstanceGroup()
        group.name = name
        group.kind = .cpu
        group.count = Int32(clamping: count)
        return group
    }

    private func cannotRemoveDefault(_ name: String, version: Int) -> SwerveError {
        SwerveError(
            .failedPrecondition,
            "Cannot remove default version \(version) for model \(name): make another version the default first, or unload the other versions")
    }

    /// The one rule for every API that loads or unloads: explicit mode only, as Triton (or lazy
    /// mode, which loads on demand and through the API alike).
    private func requireExplicitMode() throws {
        guard controlMode == .explicit || controlMode == .lazy else {
            throw SwerveError.invalid(
                "explicit model load / unload is not allowed unless the server runs with --model-control-mode explicit or lazy (now: \(controlMode.rawValue))")
        }
    }
}
