import Metrics

/// The metrics of one model version, named as Triton names them so existing dashboards work,
/// plus latency histograms (request, queue, compute) that Triton users have long asked for and a
/// gauge of the requests in flight, the one to scale replicas on. Recorded through swift-metrics;
/// whichever backend the process bootstraps exports them.
///
/// The two gauges, both updated as requests move (not when they finish, as Triton's per-model
/// counters are):
/// - `nv_inference_pending_request_count`: requests waiting in the version's queue for an
///   instance; incremented when one is queued, decremented when an instance takes it or it leaves
///   the queue otherwise (timed out, cancelled, failed at shutdown).
/// - `swerve_inference_requests_in_flight`: requests the version has accepted and not yet
///   answered: decoding their images, queued, running, or postprocessing. It counts queued and
///   running work alike, so summed over a pod's models it is the pod's load.
///
/// `swerve_inference_queue_duration_seconds` observes every request that reached the version's
/// queue, whatever became of it: the wait until an instance took it (0 when one was free), or
/// until it timed out, was cancelled or failed at shutdown. A queue that times requests out thus
/// shows its waits instead of hiding them; requests refused at the door (queue full, version
/// unloading) never waited and are not observed. Triton's `nv_inference_queue_duration_us`, like
/// the statistics extension's queue duration, counts successful requests only.
struct InferenceMetrics: Sendable {
    /// Metric names shared with the exporters and tests.
    enum Name {
        static let success = "nv_inference_request_success"
        static let failure = "nv_inference_request_failure"
        static let inferenceCount = "nv_inference_count"
        static let executionCount = "nv_inference_exec_count"
        static let requestDuration = "nv_inference_request_duration_us"
        static let queueDuration = "nv_inference_queue_duration_us"
        static let computeInput = "nv_inference_compute_input_duration_us"
        static let computeInfer = "nv_inference_compute_infer_duration_us"
        static let computeOutput = "nv_inference_compute_output_duration_us"
        static let pending = "nv_inference_pending_request_count"
        static let inFlight = "swerve_inference_requests_in_flight"
        static let requestHistogram = "swerve_inference_request_duration_seconds"
        static let queueHistogram = "swerve_inference_queue_duration_seconds"
        static let computeHistogram = "swerve_inference_compute_duration_seconds"
    }

    let success: Counter
    let failure: Counter
    let inferenceCount: Counter
    let executionCount: Counter
    let requestDuration: Counter
    let queueDuration: Counter
    let computeInput: Counter
    let computeInfer: Counter
    let computeOutput: Counter
    let pending: Meter
    let inFlight: Meter
    let requestHistogram: Timer
    let queueHistogram: Timer
    let computeHistogram: Timer

    init(model: String, version: Int) {
        let dimensions = [("model", model), ("version", String(version))]
        success = Counter(label: Name.success, dimensions: dimensions)
        failure = Counter(label: Name.failure, dimensions: dimensions)
        inferenceCount = Counter(label: Name.inferenceCount, dimensions: dimensions)
        executionCount = Counter(label: Name.executionCount, dimensions: dimensions)
        requestDuration = Counter(label: Name.requestDuration, dimensions: dimensions)
        queueDuration = Counter(label: Name.queueDuration, dimensions: dimensions)
        computeInput = Counter(label: Name.computeInput, dimensions: dimensions)
        computeInfer = Counter(label: Name.computeInfer, dimensions: dimensions)
        computeOutput = Counter(label: Name.computeOutput, dimensions: dimensions)
        pending = Meter(label: Name.pending, dimensions: dimensions)
        inFlight = Meter(label: Name.inFlight, dimensions: dimensions)
        requestHistogram = Timer(label: Name.requestHistogram, dimensions: dimensions)
        queueHistogram = Timer(label: Name.queueHistogram, dimensions: dimensions)
        computeHistogram = Timer(label: Name.computeHistogram, dimensions: dimensions)
    }

    /// Removes the version's series from the metrics backend, as Triton drops an unloaded model's
    /// metrics: with hundreds of models loaded and evicted in turn, only loaded versions keep
    /// series (memory and scrape time stay proportional to them). A version loaded again starts
    /// its counters from zero, which Prometheus reads as a counter reset.
    func destroy() {
        for counter in [success, failure, inferenceCount, executionCount, requestDuration, queueDuration, computeInput, computeInfer, computeOutput] {
            counter.destroy()
        }
        pending.destroy()
        inFlight.destroy()
        for timer in [requestHistogram, queueHistogram, computeHistogram] { timer.destroy() }
    }
}
