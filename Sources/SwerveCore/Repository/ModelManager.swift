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

    /// Creates options.
    public init(
        intraOpThreads: Int? = nil, cpuBudget: Int = CPUBudget.available(),
        completion: ModelConfigCompletion = ModelConfigCompletion(), defaultMaxQueueSize: Int = 1024,
        makePreprocessor: (@Sendable (Inference_ModelConfig) throws -> (any InputPreprocessor)?)? = nil
    ) {
        self.intraOpThreads = intraOpThreads
        self.cpuBudget = cpuBudget
        self.completion = completion
        self.defaultMaxQueueSize = defaultMaxQueueSize
        self.makePreprocessor = makePreprocessor
    }
}

/// The state of one version, for the repository index and for error messages.
public struct ModelVersionStatus: Sendable, Equatable {
    /// The model name.
    public var name: String
    /// The version, or `nil` when the model failed before any version was known.
    public var version: Int?
    /// The version's state.
    public var state: ModelState
}

/// Loads, serves and unloads the models of a repository, and keeps each version's state.
///
/// A model that fails to load never affects the others. Lookups for inference take a lock for a
/// dictionary read; loading runs on Dispatch threads.
public final class ModelManager: Sendable {
    private struct ModelSlot {
        var versions: [Int: ModelState] = [:]
        var served: [Int: ServedVersion] = [:]
        /// A failure that concerns the whole model (its configuration, no versions).
        var failure: String?
        /// What the model was last loaded from, to notice changes when polling.
        var source: Source?
        /// The version a request without a version goes to, when set; else the highest ready one.
        var defaultVersion: Int?

        struct Source: Equatable {
            var configText: String?
            var versions: [Int]
            var fingerprint: String
            var overridden: Bool
        }
        /// A folder of uploaded model files this model is served from, deleted when no longer used.
        var uploadRoot: String?
    }

    /// The repository models come from.
    public let repository: ModelRepository
    /// The backend that loads and runs them.
    public let backend: any InferenceBackend
    /// The manager's settings.
    public let options: ModelManagerOptions
    private let logger: Logger
    private let models = Mutex<[String: ModelSlot]>([:])

    /// Creates a manager; nothing is loaded until ``loadAll()`` or ``load(_:)``.
    public init(repository: ModelRepository, backend: any InferenceBackend, options: ModelManagerOptions = .init(), logger: Logger) {
        self.repository = repository
        self.backend = backend
        self.options = options
        self.logger = logger
    }

    /// Loads every model of the repository, two at a time; failures are recorded, not thrown.
    /// - Throws: only when the repository itself cannot be read.
    public func loadAll() async throws {
        let names = try repository.scan().map(\.name)
        await withTaskGroup(of: Void.self) { group in
            var iterator = names.makeIterator()
            for _ in 0..<2 {
                guard let name = iterator.next() else { break }
                group.addTask { _ = try? await self.load(name) }
            }
            while await group.next() != nil {
                guard !Task.isCancelled, let name = iterator.next() else { continue }
                group.addTask { _ = try? await self.load(name) }
            }
        }
    }

    /// Loads (or reloads) one model: the versions its policy selects. New versions become ready
    /// before versions no longer selected are unloaded.
    /// - Throws: ``SwerveError`` with the reason when the model or one of its versions fails.
    /// - Parameter override: a configuration (and model files) given through the repository API
    ///   instead of the repository's own.
    @discardableResult
    public func load(_ name: String, override: ModelOverride? = nil) async throws -> [Int] {
        try RepositoryPath.checkModelName(name)
        let entry: ModelRepository.Entry
        let parsed: ModelConfigText.Parsed?
        do {
            if let override {
                (entry, parsed) = try override.materialize(name: name, repository: repository, modelFilename: backend.defaultModelFilename)
            } else {
                guard let found = repository.entry(named: name) else {
                    throw SwerveError.notFound("model '\(name)' is not in the model repository '\(repository.root)'")
                }
                entry = found
                parsed = try entry.configText.map(ModelConfigText.parse)
            }
        } catch let error as SwerveError where error.code == .notFound {
            throw error
        } catch {
            return try fail(name, reason: "\(error)")
        }
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
            return try fail(name, reason: reason)
        }
        models.withLock { models in
            var slot = models[name] ?? ModelSlot()
            slot.failure = nil
            for version in versions where slot.served[version] == nil { slot.versions[version] = .loading }
            models[name] = slot
        }

        var failures: [String] = []
        var loaded: [ServedVersion] = []
        for version in versions {
            do {
                let served = try await loadVersion(entry: entry, version: version, parsed: parsed)
                loaded.append(served)
            } catch {
                let reason = "version \(version): \(error)"
                failures.append(reason)
                logger.error("failed to load model '\(name)' \(reason)")
                models.withLock { models in
                    // A version that still serves stays ready; the failure is reported to the caller.
                    if models[name]?.served[version] == nil { models[name]?.versions[version] = .failed("\(error)") }
                }
            }
        }

        // Publish the new versions, then retire the ones no longer selected.
        var staleUploads: [String] = []
        let retired: [ServedVersion] = models.withLock { models in
            var slot = models[name] ?? ModelSlot()
            var replaced: [ServedVersion] = []
            if !loaded.isEmpty, slot.uploadRoot != uploadRoot {
                if let old = slot.uploadRoot { staleUploads.append(old) }
                slot.uploadRoot = uploadRoot
            } else if loaded.isEmpty, let uploadRoot {
                staleUploads.append(uploadRoot)
            }
            for served in loaded {
                if let old = slot.served[served.version] { replaced.append(old) }
                slot.served[served.version] = served
                slot.versions[served.version] = .ready
            }
            if failures.isEmpty || !loaded.isEmpty {
                for (version, old) in slot.served where !versions.contains(version) {
                    replaced.append(old)
                    slot.served[version] = nil
                    slot.versions[version] = .unloading
                }
            }
            models[name] = slot
            return replaced
        }
        for old in retired {
            await old.pool.shutdown()
            models.withLock { models in
                if models[name]?.served[old.version] == nil { models[name]?.versions[old.version] = .unloaded }
            }
        }
        for folder in staleUploads { try? FileManager.default.removeItem(atPath: folder) }
        if let first = loaded.first {
            logger.info("loaded model '\(name)' versions \(loaded.map(\.version)): \(Self.describe(first.io))")
            for unsupported in first.unsupportedOutputs {
                logger.warning("model '\(name)': output '\(unsupported.name)' is left out: \(unsupported.reason)")
            }
        }
        if !failures.isEmpty {
            throw SwerveError.invalid("model '\(name)' failed to load: " + failures.joined(separator: "; "))
        }
        return loaded.map(\.version)
    }

    /// Makes `version` the one requests without a version go to.
    /// - Throws: `notFound` when that version is not ready.
    public func setDefaultVersion(_ name: String, version: Int) throws {
        try models.withLock { models in
            guard models[name]?.served[version] != nil else {
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
            guard var slot = models[name], version.map({ slot.served[$0] != nil }) ?? true else { return nil }
            let versions = version.map { [$0] } ?? Array(slot.versions.keys)
            let served = versions.compactMap { slot.served[$0] }
            for version in versions { slot.versions[version] = slot.served[version] == nil ? .unloaded : .unloading }
            for version in versions { slot.served[version] = nil }
            if version == nil { slot.failure = nil }
            if slot.served.isEmpty, let root = slot.uploadRoot {
                uploads.append(root)
                slot.uploadRoot = nil
            }
            if let preferred = slot.defaultVersion, slot.served[preferred] == nil { slot.defaultVersion = nil }
            models[name] = slot
            return served
        }
        guard let retired else {
            throw SwerveError.notFound("Request for unknown model: '\(name)'\(version.map { " version \($0)" } ?? "") is not found")
        }
        for old in retired {
            await old.pool.shutdown()
            models.withLock { $0[name]?.versions[old.version] = .unloaded }
        }
        for folder in uploads { try? FileManager.default.removeItem(atPath: folder) }
        logger.info("unloaded model '\(name)'")
    }

    /// Rescans the repository (poll mode): loads new models, reloads models whose versions or
    /// config changed (new versions are ready before old ones go), unloads models that are gone.
    public func poll() async {
        guard let entries = try? repository.scan() else { return }
        let known = models.withLock { $0.compactMapValues(\.source) }
        let present = Set(entries.map(\.name))
        for entry in entries {
            let current = ModelSlot.Source(
                configText: entry.configText, versions: entry.versions, fingerprint: entry.fingerprint, overridden: false)
            if let previous = known[entry.name], previous == current || previous.overridden { continue }
            _ = try? await load(entry.name)
        }
        for name in known.keys where !present.contains(name) && known[name]?.overridden == false {
            try? await unload(name)
            models.withLock { $0[name] = nil }
        }
    }

    /// Unloads everything, letting queued requests finish.
    /// Fails every queued request of every model with `unavailable` and refuses new ones, for a
    /// shutdown that will not wait any longer; executions under way finish.
    public func abandonQueuedRequests() {
        let pools = models.withLock { models in models.values.flatMap { $0.served.values.map(\.pool) } }
        for pool in pools { pool.abandonQueued() }
    }

    public func shutdown() async {
        let names = models.withLock { Array($0.keys) }
        for name in names { try? await unload(name) }
    }

    /// The version that serves a request: the one asked for, or the highest ready version.
    /// - Throws: `notFound` for an unknown model or version, `unavailable` when it is not ready.
    public func resolve(_ name: String, version: Int?) throws -> ServedVersion {
        try models.withLock { models in
            guard let slot = models[name] else {
                throw SwerveError.notFound("Request for unknown model: '\(name)' is not found")
            }
            if let version {
                if let served = slot.served[version] { return served }
                guard let state = slot.versions[version] else {
                    throw SwerveError.notFound("Request for unknown model: '\(name)' version \(version) is not found")
                }
                throw SwerveError.unavailable("model '\(name)' version \(version) is not ready: \(state.reason)")
            }
            if let preferred = slot.defaultVersion, let served = slot.served[preferred] { return served }
            if let latest = slot.served.keys.max(), let served = slot.served[latest] { return served }
            if let failure = slot.failure {
                throw SwerveError.unavailable("model '\(name)' is not ready: \(failure)")
            }
            let reasons = slot.versions.sorted { $0.key < $1.key }.map { "version \($0.key): \($0.value.reason)" }
            throw SwerveError.unavailable("model '\(name)' is not ready: " + (reasons.isEmpty ? "not loaded" : reasons.joined(separator: "; ")))
        }
    }

    /// Ready versions of a model, ascending.
    public func readyVersions(_ name: String) -> [Int] {
        models.withLock { ($0[name]?.served.keys).map { $0.sorted() } ?? [] }
    }

    /// Every known model version with its state, sorted by name and version.
    public func statuses() -> [ModelVersionStatus] {
        models.withLock { models in
            models.sorted { $0.key < $1.key }.flatMap { name, slot -> [ModelVersionStatus] in
                if slot.versions.isEmpty, let failure = slot.failure {
                    return [ModelVersionStatus(name: name, version: nil, state: .failed(failure))]
                }
                return slot.versions.sorted { $0.key < $1.key }.map {
                    ModelVersionStatus(name: name, version: $0.key, state: $0.value)
                }
            }
        }
    }

    /// True when no model is loading.
    public var isSettled: Bool {
        models.withLock { $0.values.allSatisfy { !$0.versions.values.contains(.loading) } }
    }

    /// Runs a request on the version it names, or on the default version.
    ///
    /// A request without a version that finds its version retiring (a new version replaced it
    /// between the lookup and the queue) goes to the version serving now instead of failing.
    public func infer(_ request: InferenceRequest) async throws -> InferenceResponse {
        let served = try resolve(request.modelName, version: request.modelVersion)
        do {
            return try await infer(request, on: served)
        } catch let error as SwerveError where error.code == .unavailable && request.modelVersion == nil && served.pool.isRetiring {
            let current = try resolve(request.modelName, version: nil)
            guard current.pool !== served.pool else { throw error }
            return try await infer(request, on: current)
        }
    }

    private func infer(_ request: InferenceRequest, on served: ServedVersion) async throws -> InferenceResponse {
        var request = request
        if let preprocessor = served.preprocessor,
           let index = request.inputs.firstIndex(where: { $0.name == preprocessor.inputName && $0.tensor.dataType == .bytes }),
           served.io.input(named: preprocessor.inputName)?.dataType != .bytes {
            let encoded = request.inputs[index]
            request.inputs[index].tensor = try await WorkerPool.preprocessing.run { try preprocessor.preprocessBatch(encoded.tensor, name: encoded.name) }
        }
        let start = ContinuousClock.now
        let metrics = served.pool.statistics.metrics
        metrics.pending.increment()
        defer { metrics.pending.decrement() }
        do {
            let outputNames = try RequestValidator.validate(request, against: served.io, modelName: served.name)
            let batchSize = served.io.maxBatchSize > 0 ? (request.inputs.first?.tensor.shape.first ?? 1) : 1
            let timeout = request.parameters["timeout"]?.intValue.map { Duration.microseconds($0) }
            let completed = try await served.pool.submit(inputs: request.inputs, outputs: outputNames, batchSize: batchSize, timeout: timeout, cancellation: request.cancellation)
            var outputs = completed.outputs
            for requested in request.outputs {
                guard let parameter = requested.parameters["classification"] else { continue }
                guard let count = parameter.intValue else {
                    throw SwerveError.invalid("output '\(requested.name)': the classification parameter must be an integer")
                }
                guard let index = outputs.firstIndex(where: { $0.name == requested.name }) else { continue }
                outputs[index].tensor = try Classification.classify(
                    outputs[index].tensor, name: requested.name, count: Int(count), batched: served.io.maxBatchSize > 0,
                    labels: served.labels[requested.name])
            }
            served.pool.statistics.recordRequest(
                success: true, totalNanoseconds: (ContinuousClock.now - start).nanoseconds, queueNanoseconds: completed.queueNanoseconds)
            return InferenceResponse(
                modelName: served.name, modelVersion: served.version, id: request.id, outputs: outputs)
        } catch {
            served.pool.statistics.recordRequest(
                success: false, totalNanoseconds: (ContinuousClock.now - start).nanoseconds, queueNanoseconds: nil)
            throw error
        }
    }

    // MARK: - Loading one version

    private func fail(_ name: String, reason: String) throws -> [Int] {
        logger.error("failed to load model '\(name)': \(reason)")
        models.withLock { models in
            var slot = models[name] ?? ModelSlot()
            slot.failure = reason
            models[name] = slot
        }
        throw SwerveError.invalid("model '\(name)' failed to load: \(reason)")
    }

    private func loadVersion(entry: ModelRepository.Entry, version: Int, parsed: ModelConfigText.Parsed?) async throws -> ServedVersion {
        let filename = parsed.flatMap { $0.config.defaultModelFilename.isEmpty ? nil : $0.config.defaultModelFilename }
            ?? backend.defaultModelFilename
        try RepositoryPath.checkFileName(filename, field: "default_model_filename")
        let modelPath = entry.versionPath(version) + "/" + filename
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw SwerveError.invalid("model file '\(modelPath)' not found")
        }
        let groups = parsed?.config.instanceGroup ?? []
        let instanceCount = max(1, groups.reduce(0) { $0 + max(1, Int($1.count)) })
        let threads = options.intraOpThreads ?? max(1, options.cpuBudget / instanceCount)
        let instanceOptions = InstanceOptions(intraOpThreads: threads, interOpThreads: 1)
        let backend = self.backend
        let completion = options.completion
        let name = entry.name

        let first = try await Blocking.run { try backend.loadInstance(modelPath: modelPath, options: instanceOptions) }
        let completed = try completion.complete(parsed, modelName: name, signature: first.signature, backend: backend)
        var instances: [any ModelInstance] = [first]
        for _ in 1..<max(1, Int(completed.config.instanceGroup.reduce(0) { $0 + $1.count })) {
            instances.append(try await Blocking.run { try backend.loadInstance(modelPath: modelPath, options: instanceOptions) })
        }
        // Warm every instance before the version is ready; everything that can fail comes before
        // the pool starts its threads.
        let logger = self.logger
        for instance in instances {
            try await Blocking.run { try Warmup.run(instance, config: completed.config, io: completed.io, logger: logger) }
        }
        let labels = try labels(for: completed.config, in: entry)
        let preprocessor = try options.makePreprocessor?(completed.config)
        let configuredQueue = Int(completed.config.dynamicBatching.defaultQueuePolicy.maxQueueSize)
        let pool = InstancePool(
            instances: instances, maxQueueSize: configuredQueue > 0 ? configuredQueue : options.defaultMaxQueueSize,
            policy: BatchPolicy(completed.config),
            label: "'\(name)' version \(version)", statistics: StatisticsRecorder(name: name, version: version))
        Malloc.releaseFreedMemory()  // what parsing the model file and the warm-up freed
        return ServedVersion(
            name: name, version: version, config: completed.config, io: completed.io,
            unsupportedOutputs: first.signature.unsupportedOutputs, labels: labels,
            preprocessor: preprocessor, pool: pool)
    }

    /// Label files per output: `label_filename` from the config, else the model's `labels.txt`.
    private func labels(for config: Inference_ModelConfig, in entry: ModelRepository.Entry) throws -> [String: [String]] {
        let shared = Classification.loadLabels(path: entry.path + "/labels.txt")
        var labels: [String: [String]] = [:]
        for (index, output) in config.output.enumerated() {
            if output.labelFilename.isEmpty {
                labels[output.name] = shared
            } else {
                try RepositoryPath.checkFileName(output.labelFilename, field: "output[\(index)].label_filename")
                guard let loaded = Classification.loadLabels(path: entry.path + "/" + output.labelFilename) else {
                    throw SwerveError.invalid("config field 'output[\(index)].label_filename': cannot read '\(entry.path)/\(output.labelFilename)'")
                }
                labels[output.name] = loaded
            }
        }
        return labels
    }

    /// `inputs x FP32 [-1, 16]; outputs y FP32 [-1, 16]`.
    static func describe(_ io: ModelIO) -> String {
        let inputs = io.inputs.map { "\($0.name) \($0.dataType.rawValue) \(Shape.describe($0.shape))" }.joined(separator: ", ")
        let outputs = io.outputs.map { "\($0.name) \($0.dataType.rawValue) \(Shape.describe($0.shape))" }.joined(separator: ", ")
        return "inputs \(inputs); outputs \(outputs); max_batch_size \(io.maxBatchSize)"
    }
}
