import Metrics

/// Metrics of the model manager's work: loads, load failures, evictions, how long loads take,
/// each loaded version's measured memory, and the memory budget. Recorded through swift-metrics;
/// whichever backend the process bootstraps exports them.
enum ModelLoadMetrics {
    /// Metric names shared with the exporters and tests.
    enum Name {
        static let loads = "swerve_model_loads_total"
        static let loadFailures = "swerve_model_load_failures_total"
        static let evictions = "swerve_model_evictions_total"
        static let loadDuration = "swerve_model_load_duration_seconds"
        static let versionMemory = "swerve_model_memory_bytes"
        static let loadedMemory = "swerve_model_memory_loaded_bytes"
        static let budget = "swerve_model_memory_budget_bytes"
        static let modelsLoaded = "swerve_models_loaded"
    }

    /// Records a finished load attempt of a model version.
    static func recordLoad(model: String, duration: Duration, succeeded: Bool) {
        let dimensions = [("model", model)]
        if succeeded {
            Counter(label: Name.loads, dimensions: dimensions).increment()
        } else {
            Counter(label: Name.loadFailures, dimensions: dimensions).increment()
        }
        Timer(label: Name.loadDuration).recordNanoseconds(Int64(duration.nanoseconds))
    }

    /// Records that a version of `model` was evicted to make room.
    static func recordEviction(model: String) {
        Counter(label: Name.evictions, dimensions: [("model", model)]).increment()
    }

    /// The gauge of one loaded version's measured memory: set when it becomes ready, destroyed
    /// when it goes, so that a thousand models used once leave no series behind.
    static func versionMemory(model: String, version: Int) -> Gauge {
        Gauge(label: Name.versionMemory, dimensions: [("model", model), ("version", String(version))])
    }

    /// Sets the totals: bytes of every loaded version, the budget (0 when there is none), and
    /// the models with at least one version loaded.
    static func recordTotals(loadedBytes: Int, budget: Int?, modelsLoaded: Int) {
        Gauge(label: Name.loadedMemory).record(loadedBytes)
        Gauge(label: Name.budget).record(budget ?? 0)
        Gauge(label: Name.modelsLoaded).record(modelsLoaded)
    }
}
