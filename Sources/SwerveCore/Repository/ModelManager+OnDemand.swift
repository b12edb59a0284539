import Foundation
import Synchronization

/// On-demand loading (`--model-control-mode lazy`): the repository is indexed at start, and a
/// version loads when its first request arrives. Requests that arrive while it loads wait on the
/// same load. A model that is not in the index (written into the repository after the start) is
/// looked for on disk when a request names it; one whose folder is gone is unloaded once its
/// requests in flight have finished.
extension ModelManager {
    /// The `config.pbtxt` parameter that pins a model: loaded at start, never evicted.
    public static let pinnedParameter = "pinned"

    /// Indexes every model of the repository without loading any: names, versions, configuration.
    /// A model whose configuration cannot be read is indexed as failed, with the reason.
    /// - Returns: the models to load at start: those `pinned` names and those whose
    ///   configuration pins them.
    /// - Throws: only when the repository itself cannot be read.
    public func indexRepository(pinning pinned: [String]) throws -> [String] {
        pinnedNames.withLock { $0.formUnion(pinned) }
        let entries = try repository.scan()
        for entry in entries { index(entry) }
        return models.withLock { models in models.filter(\.value.pinned).map(\.key).sorted() }
    }

    /// Records what the repository holds for one model: its versions the policy selects become
    /// `indexed` unless they have a state already; versions that failed are tried again when the
    /// model's files changed. Changes nothing that is loaded.
    func index(_ entry: ModelRepository.Entry) {
        let parsed: ModelConfigText.Parsed?
        let failure: String?
        do {
            parsed = try entry.configText.map(ModelConfigText.parse)
            failure = nil
        } catch {
            parsed = nil
            failure = SwerveError.clientMessage(error)
        }
        let source = ModelSlot.Source(configText: entry.configText, versions: entry.versions, fingerprint: entry.fingerprint, overridden: false)
        let selected = VersionPolicy(parsed?.config.versionPolicy ?? .init()).select(from: entry.versions)
        let pinned = pinnedNames.withLock { $0.contains(entry.name) || $0.contains("*") }
            || parsed?.config.parameters[Self.pinnedParameter]?.stringValue.lowercased() == "true"
        models.withLock { models in
            var slot = models[entry.name] ?? ModelSlot()
            if slot.source?.overridden == true { return }  // served from uploaded files: the disk does not decide
            let changed = slot.source != source
            slot.source = source
            slot.pinned = pinned
            slot.failure = failure ?? (entry.versions.isEmpty
                ? "model '\(entry.name)' has no version folder; put the model file at \(entry.path)/1/\(backend.defaultModelFilename)"
                : selected.isEmpty ? "no version of model '\(entry.name)' matches its version_policy (found versions \(entry.versions))" : nil)
            for version in selected {
                switch slot.versions[version] {
                case nil: slot.versions[version] = .indexed
                case .failed? where changed: slot.versions[version] = .indexed
                default: break
                }
            }
            // Versions neither selected nor loaded any more leave the index.
            for (version, state) in slot.versions where !selected.contains(version) {
                switch state {
                case .indexed, .evicted, .unloaded, .failed: slot.versions[version] = nil
                default: break
                }
            }
            models[entry.name] = slot
        }
    }

    /// Reads one model's folder again after a request missed it: indexes what is there now, or,
    /// when the folder is gone, unloads the model after its requests in flight and forgets it.
    /// - Throws: `notFound` when the repository has no such model.
    func refresh(_ name: String) async throws {
        try RepositoryPath.checkModelName(name)
        guard let entry = repository.entry(named: name) else {
            await forget(name)
            throw SwerveError.notFound("Request for unknown model: '\(name)' is not found")
        }
        index(entry)
    }

    /// Unloads a model whose folder left the repository (after its queued and running requests)
    /// and drops it from the index. Models served from uploaded files are kept.
    func forget(_ name: String) async {
        let known = models.withLock { $0[name].map { $0.source?.overridden != true } }
        guard known == true else { return }
        do {
            try await unload(name)
        } catch {
            // Nothing of it was loaded: nothing to retire.
        }
        models.withLock { models in
            if models[name]?.source?.overridden != true, models[name]?.pendingLoads.isEmpty == true { models[name] = nil }
        }
        logger.info("model '\(name)' left the model repository: unloaded and removed from the index")
    }

    /// The version that serves a request, loading it first when it is not loaded (in lazy mode;
    /// otherwise as ``resolve(_:version:)``).
    /// - Throws: `notFound` for a model or version the repository lacks; `unavailable` for one
    ///   that failed to load (with the reason) or is being loaded through the repository API;
    ///   `insufficientMemory` for one larger than the memory budget; the load's error.
    public func acquire(_ name: String, version: Int?) async throws -> ServedVersion {
        guard loadsOnDemand else { return try resolve(name, version: version) }
        var refreshed = false
        while true {
            switch models.withLock({ models in nextStep(&models, name: name, version: version, refreshed: refreshed) }) {
            case .serve(let served):
                return served
            case .wait(let load):
                return try await load.value
            case .refresh:
                refreshed = true
                try await refresh(name)
            case .fail(let error):
                throw error
            }
        }
    }

    /// What a request for `name` (and `version`) does next.
    private enum Step {
        case serve(ServedVersion)
        case wait(Task<ServedVersion, any Error>)
        case refresh
        case fail(SwerveError)
    }

    /// Decides the next step under the lock, starting a load when the version is not loaded.
    private func nextStep(_ models: inout [String: ModelSlot], name: String, version: Int?, refreshed: Bool) -> Step {
        guard let slot = models[name] else {
            return refreshed ? .fail(.notFound("Request for unknown model: '\(name)' is not found")) : .refresh
        }
        if let failure = slot.failure {
            return refreshed ? .fail(.unavailable("model '\(name)' is not ready: \(failure)")) : .refresh
        }
        guard let target = version ?? slot.defaultTarget, let state = slot.versions[target] else {
            if !refreshed { return .refresh }
            return .fail(.notFound("Request for unknown model: '\(name)'\(version.map { " version \($0)" } ?? "") is not found"))
        }
        switch state {
        case .ready(let served):
            return .serve(served)
        case .loading:
            if let load = slot.pendingLoads[target] { return .wait(load) }
            return .fail(.unavailable("model '\(name)' version \(target) is not ready: loading"))
        case .failed where slot.refusedForMemory.contains(target):
            // It did not fit: the budget decides again (at once, from its measured or file size).
            return startLoad(&models, slot: slot, name: name, version: target)
        case .failed(let reason):
            return refreshed ? .fail(.unavailable("model '\(name)' version \(target) is not ready: \(reason)")) : .refresh
        case .indexed, .evicted, .unloaded, .unloading:
            return startLoad(&models, slot: slot, name: name, version: target)
        }
    }

    /// Starts the on-demand load of a version that requests will wait on.
    private func startLoad(_ models: inout [String: ModelSlot], slot: ModelSlot, name: String, version target: Int) -> Step {
        var slot = slot

        // On the global executor: a request that starts the load may run on an event loop.
        let load = Task(executorPreference: globalConcurrentExecutor) { try await self.loadOnDemand(name, version: target) }
        slot.versions[target] = .loading
        slot.pendingLoads[target] = load
        models[name] = slot
        return .wait(load)
    }

    /// Loads one version for the requests waiting on it and publishes it (or its failure).
    private func loadOnDemand(_ name: String, version: Int) async throws -> ServedVersion {
        let outcome: Result<ServedVersion, any Error>
        var folderGone = false
        do {
            guard let entry = repository.entry(named: name) else {
                folderGone = true
                throw SwerveError.notFound("Request for unknown model: '\(name)' is not found (its folder left the model repository)")
            }
            guard entry.versions.contains(version) else {
                throw SwerveError.notFound("Request for unknown model: '\(name)' version \(version) is not found")
            }
            let parsed = try entry.configText.map(ModelConfigText.parse)
            let pinned = models.withLock { $0[name]?.pinned ?? false }
            outcome = .success(try await loadVersion(entry: entry, version: version, parsed: parsed, pinned: pinned))
        } catch {
            outcome = .failure(error)
        }
        // The version replaced (a load through the repository API that finished first), or the
        // new one itself when its model left the index meanwhile.
        let (retired, kept): (ServedVersion?, Bool) = models.withLock { models in
            guard var slot = models[name] else { return (try? outcome.get(), false) }
            slot.pendingLoads[version] = nil
            var retired: ServedVersion?
            switch outcome {
            case .success(let served):
                slot.refusedForMemory.remove(version)
                if let old = slot.versions[version]?.served, old !== served { retired = old }
                slot.versions[version] = .ready(served)
                slot.descriptions[version] = VersionDescription(config: served.config, io: served.io)
            case .failure(let error):
                if (error as? SwerveError)?.code == .insufficientMemory { slot.refusedForMemory.insert(version) }
                if slot.versions[version]?.served == nil {
                    slot.versions[version] = .failed(SwerveError.clientMessage(error))
                }
            }
            models[name] = slot
            return (retired, true)
        }
        switch outcome {
        case .success(let served):
            if kept {
                published(served)
                logger.info("loaded model '\(name)' version \(version) on demand (\(ByteCount.describe(served.memoryBytes)))")
            } else {
                settled(served)
            }
            if let retired { await retire(name, [retired]) }
        case .failure(let error) where folderGone:
            logger.debug("model '\(name)' left the model repository before its load: \(error)")
            await forget(name)
        case .failure(let error):
            logger.error("failed to load model '\(name)' version \(version) on demand: \(error)")
        }
        return try outcome.get()
    }

    /// What a version declares (configuration, inputs and outputs): from the version serving,
    /// else from the last time it loaded; in lazy mode a version never loaded loads now, since
    /// only its runtime can read the model file's inputs and outputs.
    func describe(_ name: String, version: Int?) async throws -> (config: Inference_ModelConfig, io: ModelIO) {
        do {
            let served = try resolve(name, version: version)
            return (served.config, served.io)
        } catch let error as SwerveError where loadsOnDemand && (error.code == .unavailable || error.code == .notFound) {
            let known: VersionDescription? = models.withLock { models in
                guard let slot = models[name], let target = version ?? slot.defaultTarget else { return nil }
                return slot.descriptions[target]
            }
            if let known { return (known.config, known.io) }
            let served = try await acquire(name, version: version)
            return (served.config, served.io)
        }
    }
}
