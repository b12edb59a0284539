import Synchronization

/// What the server says about itself (KServe v2 server metadata).
public struct ServerInfo: Sendable {
    /// The server name.
    public var name = "swerve"
    /// The server version.
    public var version = SwerveVersion.current
    /// The KServe v2 / Triton extensions the frontends implement.
    public var extensions: [String] = []

    /// Creates server information.
    public init(extensions: [String] = []) {
        self.extensions = extensions
    }
}

/// Swerve's version.
public enum SwerveVersion {
    /// The version string reported in server metadata and `--version`.
    public static let current = "0.1.0"
}

/// Metadata of a model as KServe v2 describes it.
public struct ModelMetadata: Sendable, Equatable {
    /// The model name.
    public var name: String
    /// The ready versions, ascending.
    public var versions: [Int]
    /// The platform (`onnxruntime_onnx`).
    public var platform: String
    /// Inputs with full shapes (`-1` for variable and batch dimensions).
    public var inputs: [TensorSpec]
    /// Outputs with full shapes.
    public var outputs: [TensorSpec]
}

/// How models get loaded and unloaded, as Triton's `--model-control-mode`.
public enum ModelControlMode: String, Sendable, CaseIterable {
    /// Load every model at start; the repository API cannot load or unload.
    case none
    /// Like `none`, and rescan the repository periodically for changes.
    case poll
    /// Load only the models named at start; then only through the repository API.
    case explicit
    /// Index the repository at start and load each model version on its first request; models
    /// named at start are loaded then and pinned (never evicted). The repository API loads and
    /// unloads as in explicit mode. With `--model-memory-budget`, idle versions are evicted to
    /// make room. Swerve's own mode; Triton has none like it.
    case lazy
}

/// One row of the repository index.
public struct RepositoryIndexEntry: Sendable, Equatable {
    /// The model name.
    public var name: String
    /// The version, when known.
    public var version: Int?
    /// The state (`READY`, `UNAVAILABLE`, `LOADING`, `UNLOADING`), when the model was ever loaded
    /// (or, in lazy mode, indexed).
    public var state: String?
    /// Why it is not ready.
    public var reason: String?
    /// The memory the version took when it loaded, while it is loaded.
    public var memoryBytes: Int?
}

/// The kinds of shared memory Triton's clients register.
public enum SharedMemoryKind: String, Sendable {
    case system
    case cuda = "CUDA"
}

/// Settings a TorchServe-style registration may give a model instead of its configuration's.
public struct ModelServingSettings: Sendable, Equatable {
    /// Instances (TorchServe's workers).
    public var instances: Int?
    /// The model's `max_batch_size`.
    public var maxBatchSize: Int?
    /// The dynamic batcher's `max_queue_delay_microseconds`.
    public var maxQueueDelayMicroseconds: UInt64?

    /// Creates settings; nil leaves the configuration's value.
    public init(instances: Int? = nil, maxBatchSize: Int? = nil, maxQueueDelayMicroseconds: UInt64? = nil) {
        self.instances = instances
        self.maxBatchSize = maxBatchSize
        self.maxQueueDelayMicroseconds = maxQueueDelayMicroseconds
    }
}

/// The protocol-free surface every frontend translates onto, in the spirit of Triton's server
/// API: health, the repository index, metadata, configuration, statistics, model control and
/// inference. It is the only door from a frontend into the core; the model manager behind it is
/// not visible to frontends.
///
/// Model control follows Triton's rule for every API: loading and unloading (KServe's repository
/// load and unload, TorchServe's register, scale and unregister) need
/// `--model-control-mode explicit` (or `lazy`); in `none` and `poll` the repository decides what
/// is served. Choosing a default version among those served is allowed in every mode.
public final class InferenceServer: Sendable {
    /// The models.
    let manager: ModelManager
    /// Server name, version and extensions.
    public let info: ServerInfo
    /// How models are loaded and unloaded.
    public let controlMode: ModelControlMode
    /// Models to load at start in explicit mode (`*` for all).
    public let startupModels: [String]
    /// Triton's `--strict-readiness`: true, ready only when every model is ready; false, ready
    /// whenever the server answers; nil, ready once every model has been tried.
    public let strictReadiness: Bool?
    private let started = Atomic<Bool>(false)
    /// Watches the repository's folder in lazy mode, so that models added or removed are noticed
    /// without a request (removed ones are unloaded).
    private let watcher = Mutex<RepositoryWatcher?>(nil)

    /// Creates the server surface over a model manager; in lazy mode the manager loads on demand.
    public init(
        manager: ModelManager, info: ServerInfo = ServerInfo(), controlMode: ModelControlMode = .none, startupModels: [String] = [],
        strictReadiness: Bool? = nil
    ) {
        self.strictReadiness = strictReadiness
        self.manager = manager
        self.info = info
        self.controlMode = controlMode
        self.startupModels = startupModels
        manager.loadsOnDemand = controlMode == .lazy
    }

    // MARK: - Life of the server

    /// Loads the models the control mode asks for and marks the server ready once all have been
    /// tried. In lazy mode it indexes the repository and loads only the pinned models.
    public func start() async throws {
        switch controlMode {
        case .lazy:
            let pinned = try manager.indexRepository(pinning: startupModels)
            startWatching()
            for name in pinned where !Task.isCancelled { await manager.loadRecordingFailure(name) }
        case .explicit where !startupModels.contains("*"):
            for name in startupModels { await manager.loadRecordingFailure(name) }
        default:
            try await manager.loadAll()
        }
        manager.recordMemoryTotals()
        started.store(true, ordering: .releasing)
    }

    /// Follows the repository folder: a model folder that appears is indexed, one that goes is
    /// unloaded after its requests in flight. Without inotify, models are found on a request's
    /// miss and removals when a load finds the folder gone.
    private func startWatching() {
        let manager = self.manager
        do {
            let watcher = try RepositoryWatcher(root: manager.repository.root) { change in
                Task {
                    switch change {
                    // A change is a hint: the folder is read again, and a model is unloaded only
                    // when its folder is really gone (refresh throws notFound then, and forgets it).
                    case .appeared(let name), .disappeared(let name): try? await manager.refresh(name)
                    case .rootChanged: _ = try? manager.indexRepository(pinning: [])
                    }
                }
            }
            self.watcher.withLock { $0 = watcher }
        } catch {
            manager.logger.warning("not watching the model repository (\(error)): new models are found when a request names them")
        }
    }

    /// Rescans the repository and follows its changes (poll mode).
    public func poll() async {
        await manager.poll()
    }

    /// Fails every queued request and refuses new ones: the server stops and waits no longer.
    public func abandonQueuedRequests() {
        manager.abandonQueuedRequests()
    }

    /// Unloads every model after its queued and running requests finish.
    public func shutdown() async {
        watcher.withLock { $0?.stop() }
        await manager.shutdown()
    }

    /// The process is up and answering; never waits on inference.
    public var isLive: Bool { true }

    /// Every model has been tried and none is still loading; in lazy mode, the repository is
    /// indexed and the pinned models have been tried (loads on demand do not make it unready).
    /// With ``strictReadiness`` true, also no model may have failed (Triton's strict readiness);
    /// with false, the server is ready whenever it answers.
    public var isReady: Bool {
        if strictReadiness == false { return true }
        let tried = started.load(ordering: .acquiring) && (controlMode == .lazy || manager.isSettled)
        guard tried, strictReadiness == true else { return tried }
        return !manager.statuses().contains {
            if case .failed = $0.state { return true }
            return false
        }
    }

    // MARK: - Repository index and model states

    /// Every model of the repository and every loaded model, with each version's state.
    public func repositoryIndex(readyOnly: Bool) -> [RepositoryIndexEntry] {
        let statuses = manager.statuses()
        var rows = statuses.map {
            RepositoryIndexEntry(name: $0.name, version: $0.version, state: $0.state.name, reason: $0.state.reason, memoryBytes: $0.memoryBytes)
        }
        let known = Set(statuses.map(\.name))
        for entry in (try? manager.repository.scan()) ?? [] where !known.contains(entry.name) {
            rows.append(RepositoryIndexEntry(name: entry.name, version: nil, state: nil, reason: nil))
        }
        rows.sort { ($0.name, $0.version ?? 0) < ($1.name, $1.version ?? 0) }
        return readyOnly ? rows.filter { $0.state == ModelState.ready.name } : rows
    }

    /// Every known version of every model (or of one model) with its state, by name and version.
    public func modelStatuses(model name: String? = nil) -> [ModelVersionStatus] {
        let all = manager.statuses()
        guard let name else { return all }
        return all.filter { $0.name == name }
    }

    /// The ready versions of a model, ascending.
    public func readyVersions(_ name: String) -> [Int] {
        manager.readyVersions(name)
    }

    /// The version requests without a version go to now (the default one, else the highest
    /// ready one), if any is ready.
    public func defaultVersion(_ name: String) -> Int? {
        manager.defaultVersion(name)
    }

    // MARK: - Metadata, configuration and statistics

    /// Metadata of a model (all ready versions) or of one version. In lazy mode a version that
    /// was loaded before answers from what it declared then; one never loaded is loaded now
    /// (only its runtime can read the model file's inputs and outputs).
    public func metadata(model name: String, version: Int?) async throws -> ModelMetadata {
        let described = try await manager.describe(name, version: version)
        let ready = manager.readyVersions(name)
        let versions = version.map { [$0] } ?? (ready.isEmpty ? modelStatuses(model: name).compactMap(\.version) : ready)
        return ModelMetadata(
            name: name, versions: versions, platform: described.config.platform,
            inputs: described.io.inputs, outputs: described.io.outputs)
    }

    /// The completed configuration of a model version (in lazy mode, as ``metadata(model:version:)``).
    public func config(model name: String, version: Int?) async throws -> Inference_ModelConfig {
        try await manager.describe(name, version: version).config
    }

    /// Whether a model (version) is ready, that is loaded; unknown and unloaded models throw
    /// `notFound`. In lazy mode an indexed version that is not loaded is not ready, and a model
    /// missing from the index is looked for in the repository first; nothing is loaded.
    public func isModelReady(_ name: String, version: Int?) async throws -> Bool {
        do {
            _ = try manager.resolve(name, version: version)
            return true
        } catch let error as SwerveError where error.code == .unavailable {
            return false
        } catch let error as SwerveError where error.code == .notFound && controlMode == .lazy {
            try await manager.refresh(name)
            do {
                _ = try manager.resolve(name, version: version)
                return true
            } catch let error as SwerveError where error.code == .unavailable {
                return false
            }
        }
    }

    /// Statistics of every ready version, of a model's ready versions, or of one version.
    /// - Throws: `notFound` for an unknown model or version.
    public func statistics(model name: String?, version: Int?) throws -> [ModelStatistics] {
        guard let name, !name.isEmpty else {
            return manager.statuses().filter { $0.state == .ready }.compactMap { status in
                status.version.flatMap { try? manager.resolve(status.name, version: $0).statistics }
            }
        }
        if let version {
            return [try manager.resolve(name, version: version).statistics]
        }
        _ = try manager.resolve(name, version: nil)
        return manager.readyVersions(name).compactMap { try? manager.resolve(name, version: $0).statistics }
    }

    // MARK: - Inference

    /// The version a request for `name` (and `version`, nil for the default) goes to: what a
    /// frontend reads to translate the request (inputs, outputs, preprocessor), then hands to
    /// ``infer(_:on:)`` so that a request is resolved once.
    /// - Throws: `notFound` for an unknown or unloaded model or version, `unavailable` for one
    ///   that is loading, unloading or failed.
    public func servedVersion(_ name: String, version: Int?) throws -> ServedVersion {
        try manager.resolve(name, version: version)
    }

    /// The version a request goes to, as ``servedVersion(_:version:)``, loaded first in lazy mode
    /// when it is not loaded (requests arriving meanwhile wait on the same load).
    /// - Throws: as ``servedVersion(_:version:)``; in lazy mode also `insufficientMemory` for a
    ///   version that cannot fit in the memory budget, or the load's failure.
    public func versionForRequest(_ name: String, version: Int?) async throws -> ServedVersion {
        try await manager.acquire(name, version: version)
    }

    /// Runs one inference request on the version it names, or the default version.
    public func infer(_ request: InferenceRequest) async throws -> InferenceResponse {
        IdleMemoryRelease.shared.noteActivity()
        return try await manager.infer(request)
    }

    /// Runs one inference request on a version found with ``servedVersion(_:version:)``.
    public func infer(_ request: InferenceRequest, on served: ServedVersion) async throws -> InferenceResponse {
        IdleMemoryRelease.shared.noteActivity()
        return try await manager.infer(request, on: served)
    }

    // MARK: - Shared memory

    /// Registered shared-memory regions: none, since Swerve does not implement shared memory
    /// (tensors travel in the request). Status and unregister succeed, as Triton answers without
    /// the feature, so clients that clean up at exit keep working.
    public func sharedMemoryRegions(_ kind: SharedMemoryKind) -> [String] { [] }

    /// Refuses to register a shared-memory region: `unsupported` (HTTP 501, gRPC UNIMPLEMENTED).
    public func registerSharedMemory(_ kind: SharedMemoryKind) throws {
        throw SwerveError(.unsupported, "\(kind.rawValue) shared memory is not supported by this server; send tensors in the request body")
    }
}
