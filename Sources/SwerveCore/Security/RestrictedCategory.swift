/// A group of endpoints that `--http-restricted-api` and `--grpc-restricted-protocol` can put
/// behind a header key, named as Triton names them.
///
/// Every HTTP route and gRPC method of Swerve belongs to one category, or is explicitly open
/// (Prometheus' `/metrics`, which Triton does not restrict either).
public enum RestrictedCategory: String, Sendable, Hashable, CaseIterable {
    /// Liveness and readiness of the server and of models (`/v2/health/*`, `/v2/models/<m>/ready`,
    /// TorchServe's `/ping`, gRPC's `ServerLive`/`ServerReady`/`ModelReady` and `grpc.health.v1`).
    case health
    /// Server and model metadata (`/v2`, `/v2/models/<m>`, TF Serving's model status and metadata).
    case metadata
    /// Inference (`/infer`, `/predictions`, `:predict`, `ModelInfer`, `ModelStreamInfer`).
    case inference
    /// The shared-memory extension (`/v2/systemsharedmemory/*`, `/v2/cudasharedmemory/*`).
    case sharedMemory = "shared-memory"
    /// The model configuration extension (`/v2/models/<m>/config`, `ModelConfig`).
    case modelConfig = "model-config"
    /// The model repository extension (index, load, unload) and TorchServe's whole management API.
    case modelRepository = "model-repository"
    /// The statistics extension (`/v2/models/stats`, `ModelStatistics`).
    case statistics
    /// The trace extension (`/v2/trace/setting`, `TraceSetting`).
    case trace
    /// The logging extension (`/v2/logging`, `LogSettings`).
    case logging

    /// The category's name on the command line (`model-repository`).
    public var name: String { rawValue }
}
