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

/// The protocol-free surface every frontend translates onto: health, metadata, configuration and
/// inference, in the spirit of Triton's server API.
public final class InferenceServer: Sendable {
    /// The models.
    public let manager: ModelManager
    /// Server name, version and extensions.
    public let info: ServerInfo
    private let started = Atomic<Bool>(false)

    /// Creates the server surface over a model manager.
    public init(manager: ModelManager, info: ServerInfo = ServerInfo()) {
        self.manager = manager
        self.info = info
    }

    /// Loads the repository's models and marks the server ready once all have been tried.
    public func start() async throws {
        try await manager.loadAll()
        started.store(true, ordering: .releasing)
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
        try await manager.infer(request)
    }
}
