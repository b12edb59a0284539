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
}

/// One row of the repository index.
public struct RepositoryIndexEntry: Sendable, Equatable {
    /// The model name.
    public var name: String
    /// The version, when known.
    public var version: Int?
    /// The state (`READY`, `UNAVAILABLE`, `LOADING`, `UNLOADING`), when the model was ever loaded.
    public var state: String?
    /// Why it is not ready.
    public var reason: String?
}

/// The protocol-free surface every frontend translates onto: health, metadata, configuration and
/// inference, in the spirit of Triton's server API.
public final class InferenceServer: Sendable {
    /// The models.
    public let manager: ModelManager
    /// Server name, version and extensions.
    public let info: ServerInfo
    /// How models are loaded and unloaded.
    public let controlMode: ModelControlMode
    /// Models to load at start in explicit mode (`*` for all).
    public let startupModels: [String]
    private let started = Atomic<Bool>(false)

    /// Creates the server surface over a model manager.
    public init(manager: ModelManager, info: ServerInfo = ServerInfo(), controlMode: ModelControlMode = .none, startupModels: [String] = []) {
        self.manager = manager
        self.info = info
        self.controlMode = controlMode
        self.startupModels = startupModels
    }

    /// Loads the models the control mode asks for and marks the server ready once all have been tried.
    public func start() async throws {
        if controlMode != .explicit || startupModels.contains("*") {
            try await manager.loadAll()
        } else {
            for name in startupModels { _ = try? await manager.load(name) }
        }
        started.store(true, ordering: .releasing)
    }

    /// Every model of the repository and every loaded model, with each version's state.
    public func repositoryIndex(readyOnly: Bool) -> [RepositoryIndexEntry] {
        let statuses = manager.statuses()
        var rows = statuses.map {
            RepositoryIndexEntry(name: $0.name, version: $0.version, state: $0.state.name, reason: $0.state.reason)
        }
        let known = Set(statuses.map(\.name))
        for entry in (try? manager.repository.scan()) ?? [] where !known.contains(entry.name) {
            rows.append(RepositoryIndexEntry(name: entry.name, version: nil, state: nil, reason: nil))
        }
        rows.sort { ($0.name, $0.version ?? 0) < ($1.name, $1.version ?? 0) }
        return readyOnly ? rows.filter { $0.state == ModelState.ready.name } : rows
    }

    /// Loads or reloads a model (explicit mode only).
    public func loadModel(_ name: String, override: ModelOverride? = nil) async throws {
        guard controlMode == .explicit else {
            throw SwerveError.invalid("explicit model load / unload is not allowed unless the server runs with --model-control-mode explicit")
        }
        try await manager.load(name, override: override)
    }

    /// Unloads a model after its in-flight requests finish (explicit mode only).
    public func unloadModel(_ name: String) async throws {
        guard controlMode == .explicit else {
            throw SwerveError.invalid("explicit model load / unload is not allowed unless the server runs with --model-control-mode explicit")
        }
        try await manager.unload(name)
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

    /// The process is up and answering; never waits on inference.
    public var isLive: Bool { true }

    /// Every model has been tried and none is still loading.
    public var isReady: Bool { started.load(ordering: .acquiring) && manager.isSettled }

    /// Metadata of a model (all ready versions) or of one version.
    public func metadata(model name: String, version: Int?) throws -> ModelMetadata {
        let served = try manager.resolve(name, version: version)
        let versions = version.map { [$0] } ?? manager.readyVersions(name)
        return ModelMetadata(
            name: name, versions: versions, platform: served.config.platform,
            inputs: served.io.inputs, outputs: served.io.outputs)
    }

    /// The completed configuration of a model version.
    public func config(model name: String, version: Int?) throws -> Inference_ModelConfig {
        try manager.resolve(name, version: version).config
    }

    /// Whether a model (version) is ready; unknown models throw `notFound`.
    public func isModelReady(_ name: String, version: Int?) throws -> Bool {
        do {
            _ = try manager.resolve(name, version: version)
            return true
        } catch let error as SwerveError where error.code == .unavailable {
            return false
        }
    }

    /// Runs one inference request.
    public func infer(_ request: InferenceRequest) async throws -> InferenceResponse {
        IdleMemoryRelease.shared.noteActivity()
        return try await manager.infer(request)
    }
}
