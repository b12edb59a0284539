import Foundation
import Logging
import Synchronization

/// Settings of the model manager.
public struct ModelManagerOptions: Sendable {
    /// Intra-op threads per instance; `nil` divides ``cpuBudget`` among a model's instances.
    public var intraOpThreads: Int?
    /// The CPUs the process may use (see ``CPUBudget``).
    public var cpuBudget: Int
    /// How config completion picks `max_batch_size` for models that can batch.
    public var completion: ModelConfigCompletion
    /// The queue size of a model version when its configuration sets none.
    public var defaultMaxQueueSize: Int
    /// Makes the preprocessor a model's configuration declares (image decoding), or nil.
    public var makePreprocessor: (@Sendable (Inference_ModelConfig) throws -> (any InputPreprocessor)?)?
    /// The time queue timeouts and batching delays are decided by (tests inject a manual one).
    public var clock: any SchedulingClock
    /// The most bytes the loaded versions may take together (`--model-memory-budget`), or nil
    /// for no limit. With on-demand loading, idle versions are evicted to make room; a version
    /// that cannot fit is refused with `insufficientMemory`.
    public var memoryBudget: Int?
    /// Reads the bytes the process has allocated, around each load to measure what it took
    /// (``ProcessMemory/allocatedBytes()``; tests inject a counter of their own).
    public var allocatedBytes: @Sendable () -> Int?
    /// The limits of every model version (requests in flight, rate, BYTES elements), which a
    /// model's configuration may override (``ModelLimits/applying(_:)``).
    public var limits: ModelLimits

    /// Creates options.
    public init(
        intraOpThreads: Int? = nil, cpuBudget: Int = CPUBudget.available(),
        completion: ModelConfigCompletion = ModelConfigCompletion(), defaultMaxQueueSize: Int = 1024,
        makePreprocessor: (@Sendable (Inference_ModelConfig) throws -> (any InputPreprocessor)?)? = nil,
        clock: any SchedulingClock = SystemSchedulingClock(), memoryBudget: Int? = nil,
        allocatedBytes: @escaping @Sendable () -> Int? = ProcessMemory.allocatedBytes, limits: ModelLimits = ModelLimits()
    ) {
        self.limits = limits
        self.allocatedBytes = allocatedBytes
        self.clock = clock
        self.memoryBudget = memoryBudget
        self.intraOpThreads = intraOpThreads
        self.cpuBudget = cpuBudget
        self.completion = completion
        self.defaultMaxQueueSize = defaultMaxQueueSize
        self.makePreprocessor = makePreprocessor
    }
}

/// Loads, serves and unloads the models of a repository, and keeps each version's state.
///
/// All state lives in one dictionary of ``ModelSlot``s under one lock; each version's state is
/// one ``VersionState`` with the transitions documented there. A model that fails to load never
/// affects the others. Lookups for inference take the lock for a dictionary read; loading runs
/// on Dispatch threads (``VersionLoader``), outside the lock, one load at a time (``LoadGate``)
/// so that each measures its own memory and the memory budget sees every other version's size.
public final class ModelManager: Sendable {
    /// The repository models come from.
    public let repository: ModelRepository
    /// The runtimes that load and run them, one picked per version (``BackendSet/select(config:versionPath:)``).
    public let backends: BackendSet
    /// The default runtime (ONNX Runtime in the server), named in messages about missing files.
    public var backend: any InferenceBackend { backends.primary }
    /// The manager's settings.
    public let options: ModelManagerOptions
    let logger: Logger
    let loader: VersionLoader
    /// Every model's state, under one lock.
    let models = Mutex<[String: ModelSlot]>([:])
    /// Lets one load run at a time.
    let loadGate = LoadGate()
    /// The sizes of versions loaded within the budget but not yet published (ready) in
    /// ``models``: the budget counts them, so that the next load, which may start before they
    /// are published, makes room for them too.
    let unpublishedBytes = Mutex<[ObjectIdentifier: Int]>([:])
    /// Models pinned by name (`--load-model` in lazy mode; `*` pins every model): never evicted.
    let pinnedNames = Mutex<Set<String>>([])
    private let onDemand = Atomic<Bool>(false)

    /// Whether a request for a version that is not loaded loads it (`--model-control-mode lazy`).
    public var loadsOnDemand: Bool {
        get { onDemand.load(ordering: .relaxed) }
        set { onDemand.store(newValue, ordering: .relaxed) }
    }

    /// Creates a manager; nothing is loaded until ``loadAll()`` or ``load(_:override:)``.
    public init(repository: ModelRepository, backends: BackendSet, options: ModelManagerOptions = .init(), logger: Logger) {
        self.repository = repository
        self.backends = backends
        self.options = options
        self.logger = logger
        loader = VersionLoader(backends: backends, options: options, logger: logger)
    }

    /// Creates a manager that loads every model with one runtime.
    public convenience init(repository: ModelRepository, backend: any InferenceBackend, options: ModelManagerOptions = .init(), logger: Logger) {
        self.init(repository: repository, backends: BackendSet([backend]), options: options, logger: logger)
    }

    // MARK: - Loading

    /// Loads every model of the repository (two models in progress, their loads one at a time through
    /// ``LoadGate``); failures are recorded, not thrown.
    /// - Throws: only when the repository itself cannot be read.
    public func loadAll() async throws {
        let names = try repository.scan().map(\.name)
        await withTaskGroup(of: Void.self) { group in
            var iterator = names.makeIterator()
            for _ in 0..<2 {
                guard let name = iterator.next() else { break }
                group.addTask { await self.loadRecordingFailure(name) }
            }
            while await group.next() != nil {
                guard !Task.isCancelled, let name = iterator.next() else { continue }
                group.addTask { await self.loadRecordingFailure(name) }
            }
        }
    }

    /// Loads a model whose failure is recorded in its state (and logged) rather than thrown: at
    /// start and when polling, where no client waits for the answer.
    func loadRecordingFailure(_ name: String) async {
        do {
            try await load(name)
        } catch {
            // Recorded in the model's state by `load` and logged there.
        }
    }

    /// Loads (or reloads) one model: the versions its policy selects. New versions become ready
    /// before versions no longer selected are unloaded.
    /// - Throws: ``SwerveError`` with the reason when the model or one of its versions fails.
    /// - Parameter override: a configuration (and model files) given through a repository API
    ///   instead of the repository's own.
    @discardableResult
    public func load(_ name: String, override: ModelOverride? = nil) async throws -> [Int] {
        try RepositoryPath.checkModelName(name)
        let (entry, parsed) = try source(of: name, override: override)
        models.withLock {
            $0[name, default: ModelSlot()].source = ModelSlot.Source(
                configText: entry.configText, versions: entry.versions, fingerprint: entry.fingerprint, overridden: override != nil)
        }
        // Uploaded files live in a folder of their own under the temporary directory.
        let uploadRoot = override.map { !$0.files.isEmpty } == true ? (entry.path as NSString).deletingLastPathComponent : nil
        let versions = VersionPolicy(parsed?.config.versionPolicy ?? .init()).select(from: entry.versions)
        guard !versions.isEmpty else {
            if let uploadRoot { try? FileManager.default.removeItem(atPath: uploadRoot) }
            let reason = entry.versions.isEmpty
                ? "model '\(name)' has no version folder; put the model file at \(entry.path)/1/\(backend.defaultModelFilename)"
                : "no version of model '\(name)' matches its version_policy (found versions \(entry.versions))"
            throw fail(name, reason: reason)
        }
        models.withLock { models in
            var slot = models[name] ?? ModelSlot()
            slot.failure = nil
            for version in versions where slot.versions[version]?.served == nil { slot.versions[version] = .loading }
            models[name] = slot
        }
        let pinned = pinnedNames.withLock { $0.contains(name) || $0.contains("*") }
            || parsed?.config.parameters[Self.pinnedParameter]?.stringValue.lowercased() == "true"
        models.withLock { $0[name]?.pinned = pinned }

        var failures: [String] = []
        var loaded: [ServedVersion] = []
        for version in versions {
            do {
                loaded.append(try await loadVersion(entry: entry, version: version, parsed: parsed, pinned: pinned))
            } catch {
                let reason = SwerveError.clientMessage(error)
                failures.append("version \(version): \(reason)")
                logger.error("failed to load model '\(name)' version \(version): \(error)")
                models.withLock { models in
                    // A version that still serves stays ready; the failure is reported to the caller.
                    if models[name]?.versions[version]?.served == nil { models[name]?.versions[version] = .failed(reason) }
                }
            }
        }
        let retired = publish(name, loaded: loaded, selected: versions, retireUnselected: failures.isEmpty || !loaded.isEmpty, uploadRoot: uploadRoot)
        for served in loaded { published(served) }
        await retire(name, retired.versions)
        for folder in retired.uploads { try? FileManager.default.removeItem(atPath: folder) }
        if let first = loaded.first {
            logger.info("loaded model '\(name)' versions \(loaded.map(\.version)): \(VersionLoader.describe(first.io))")
            for unsupported in first.unsupportedOutputs {
                logger.warning("model '\(name)': output '\(unsupported.name)' is left out: \(unsupported.reason)")
            }
        }
        if !failures.isEmpty {
            throw SwerveError.invalid("model '\(name)' failed to load: " + failures.joined(separator: "; "))
        }
        return loaded.map(\.version)
    }

    /// The folder and configuration a load reads: the override's, else the repository's.
    /// - Throws: `notFound` for a model the repository lacks; any other failure is recorded as
    ///   the model's own and thrown as `invalidArgument`.
    private func source(of name: String, override: ModelOverride?) throws -> (ModelRepository.Entry, ModelConfigText.Parsed?) {
        do {
            if let override {
                return try override.materialize(name: name, repository: repository, modelFilename: backend.defaultModelFilename)
            }
            guard let entry = repository.entry(named: name) else {
                throw SwerveError.notFound("model '\(name)' is not in the model repository '\(repository.root)'")
            }
            return (entry, try entry.configText.map(ModelConfigText.parse))
        } catch let error as SwerveError where error.code == .notFound {
            throw error
        } catch {
            throw fail(name, reason: SwerveError.clientMessage(error))
        }
    }

    /// Makes the loaded versions ready and marks the versions no longer selected as unloading, in
    /// one step; returns the versions to retire (replaced or unselected) and upload folders no
    /// longer used.
    private func publish(
        _ name: String, loaded: [ServedVersion], selected: [Int], retireUnselected: Bool, uploadRoot: String?
    ) -> (versions: [ServedVersion], uploads: [String]) {
        models.withLock { models in
            var slot = models[name] ?? ModelSlot()
            var retired: [ServedVersion] = []
            var uploads: [String] = []
            if !loaded.isEmpty, slot.uploadRoot != uploadRoot {
                if let old = slot.uploadRoot { uploads.append(old) }
                slot.uploadRoot = uploadRoot
            } else if loaded.isEmpty, let uploadRoot {
                uploads.append(uploadRoot)
            }
            for served in loaded {
                if let old = slot.versions[served.version]?.served { retired.append(old) }
                slot.versions[served.version] = .ready(served)
                slot.descriptions[served.version] = VersionDescription(config: served.config, io: served.io)
            }
            if retireUnselected {
                for (version, state) in slot.versions where !selected.contains(version) {
                    guard let old = state.served else { continue }
                    retired.append(old)
                    slot.versions[version] = .unloading
                }
            }
            models[name] = slot
            return (retired, uploads)
        }
    }

    /// Lets retired versions finish their requests, then marks them unloaded unless a newer
    /// instance of the same version serves in their place.
    func retire(_ name: String, _ retired: [ServedVersion]) async {
        for old in retired {
            await old.pool.shutdown()
            let replaced = models.withLock { models -> Bool in
                guard let state = models[name]?.versions[old.version] else { return false }
                if case .unloading = state { models[name]?.versions[old.version] = .unloaded }
                return state.served != nil
            }
            if !replaced { Self.dropMetrics(of: old) }
        }
        if !retired.isEmpty { recordMemoryTotals() }
    }

    /// Records a failure of the whole model and returns the error that reports it.
    private func fail(_ name: String, reason: String) -> SwerveError {
        logger.error("failed to load model '\(name)': \(reason)")
        models.withLock { $0[name, default: ModelSlot()].failure = reason }
        return SwerveError.invalid("model '\(name)' failed to load: \(reason)")
    }

    // MARK: - Default version and unloading

    /// Makes `version` the one requests without a version go to.
    /// - Throws: `notFound` when that version is not ready.
    public func setDefaultVersion(_ name: String, version: Int) throws {
        try models.withLock { models in
            guard models[name]?.versions[version]?.served != nil else {
                throw SwerveError.notFound("Request for unknown model: '\(name)' version \(version) is not found")
            }
            models[name]?.defaultVersion = version
        }
    }

    /// Unloads every version of a model (or one version) after its queued and running requests finish.
    /// - Throws: `notFound` for a model or version that is not loaded.
    public func unload(_ name: String, version: Int? = nil) async throws {
        var uploads: [String] = []
        let retired: [ServedVersion]? = models.withLock { models in
            guard var slot = models[name], version.map({ slot.versions[$0]?.served != nil }) ?? true else { return nil }
            var served: [ServedVersion] = []
            for number in version.map({ [$0] }) ?? Array(slot.versions.keys) {
                if let old = slot.versions[number]?.served {
                    served.append(old)
                    slot.versions[number] = .unloading
                } else {
                    slot.versions[number] = .unloaded
                }
            }
            if version == nil { slot.failure = nil }
            if slot.readyVersions.isEmpty, let root = slot.uploadRoot {
                uploads.append(root)
                slot.uploadRoot = nil
            }
            if let preferred = slot.defaultVersion, slot.versions[preferred]?.served == nil { slot.defaultVersion = nil }
            models[name] = slot
            return served
        }
        guard let retired else {
            throw SwerveError.notFound("Request for unknown model: '\(name)'\(version.map { " version \($0)" } ?? "") is not found")
        }
        await retire(name, retired)
        for folder in uploads { try? FileManager.default.removeItem(atPath: folder) }
        logger.info("unloaded model '\(name)'\(version.map { " version \($0)" } ?? "")")
    }

    /// Rescans the repository (poll mode): loads new models, reloads models whose versions or
    /// config changed (new versions are ready before old ones go), unloads models that are gone.
    public func poll() async {
        let entries: [ModelRepository.Entry]
        do {
            entries = try repository.scan()
        } catch {
            logger.error("cannot rescan the model repository: \(error)")
            return
        }
        let known = models.withLock { $0.compactMapValues(\.source) }
        let present = Set(entries.map(\.name))
        for entry in entries {
            let current = ModelSlot.Source(
                configText: entry.configText, versions: entry.versions, fingerprint: entry.fingerprint, overridden: false)
            if let previous = known[entry.name], previous == current || previous.overridden { continue }
            await loadRecordingFailure(entry.name)
        }
        for name in known.keys where !present.contains(name) && known[name]?.overridden == false {
            do {
                try await unload(name)
            } catch {
                // Not loaded any more (unloaded meanwhile): nothing to retire.
            }
            models.withLock { $0[name] = nil }
        }
    }

    /// Fails every queued request of every model with `unavailable` and refuses new ones, for a
    /// shutdown that will not wait any longer; executions under way finish.
    public func abandonQueuedRequests() {
        let pools = models.withLock { models in models.values.flatMap { $0.versions.values.compactMap(\.served?.pool) } }
        for pool in pools { pool.abandonQueued() }
    }

    /// Unloads everything, letting queued requests finish.
    public func shutdown() async {
        let names = models.withLock { Array($0.keys) }
        for name in names {
            do {
                try await unload(name)
            } catch {
                // A model with nothing loaded has nothing to unload.
            }
        }
    }
}
