import Foundation
import Synchronization

/// A count of events and their cumulative duration, as Triton's `StatisticDuration`.
public struct StatisticDuration: Sendable, Equatable {
    /// How many events.
    public var count: UInt64 = 0
    /// Their total duration in nanoseconds.
    public var nanoseconds: UInt64 = 0

    /// Creates an empty statistic.
    public init() {}

    mutating func add(_ nanoseconds: UInt64, count: UInt64 = 1) {
        self.count &+= count
        self.nanoseconds &+= nanoseconds
    }
}

/// How long the phases of one model execution took, filled in by the backend's
/// `run(inputs:outputs:timings:)`: ONNX Runtime times making its input values, `Run`, and copying
/// the outputs out; a backend that cannot tell the phases apart gets the protocol's default,
/// which records the whole run as inference.
public struct RunTimings: Sendable, Equatable {
    /// Preparing the inputs for the runtime.
    public var inputNanoseconds: UInt64 = 0
    /// Running the model.
    public var inferNanoseconds: UInt64 = 0
    /// Copying the outputs out of the runtime.
    public var outputNanoseconds: UInt64 = 0

    /// Creates zero timings.
    public init() {}
}

/// Statistics of one model version with Triton's fields and meanings: request counts and
/// durations by phase, inferences (batch elements) versus executions (model runs).
public struct ModelStatistics: Sendable, Equatable {
    /// Per-request durations by outcome and phase.
    public struct Inference: Sendable, Equatable {
        public var success = StatisticDuration()
        public var fail = StatisticDuration()
        public var queue = StatisticDuration()
        public var computeInput = StatisticDuration()
        public var computeInfer = StatisticDuration()
        public var computeOutput = StatisticDuration()
        public var cacheHit = StatisticDuration()
        public var cacheMiss = StatisticDuration()
    }

    /// Per-execution durations for one batch size.
    public struct Batch: Sendable, Equatable {
        public var batchSize: Int
        public var computeInput = StatisticDuration()
        public var computeInfer = StatisticDuration()
        public var computeOutput = StatisticDuration()
    }

    /// The model name.
    public var name: String
    /// The version.
    public var version: Int
    /// Milliseconds since the epoch of the last inference, 0 if none.
    public var lastInference: UInt64 = 0
    /// Batch elements inferred (a request of batch 8 adds 8).
    public var inferenceCount: UInt64 = 0
    /// Model executions (a dynamic batch of several requests adds 1).
    public var executionCount: UInt64 = 0
    /// Durations by outcome and phase.
    public var inference = Inference()
    /// Durations per batch size, ascending.
    public var batches: [Batch] = []
    /// The memory the version took when it loaded, measured (Triton's `memory_usage`, type CPU).
    public var memoryBytes: UInt64 = 0
}

/// Records a version's statistics from the threads that run it.
final class StatisticsRecorder: Sendable {
    private let state: Mutex<ModelStatistics>
    let metrics: InferenceMetrics

    init(name: String, version: Int) {
        state = Mutex(ModelStatistics(name: name, version: version))
        metrics = InferenceMetrics(model: name, version: version)
    }

    var snapshot: ModelStatistics { state.withLock { $0 } }

    /// Records one execution of `requests` requests totalling `batchSize` batch elements.
    func recordExecution(batchSize: Int, requests: Int, timings: RunTimings) {
        metrics.executionCount.increment()
        metrics.inferenceCount.increment(by: batchSize)
        metrics.computeInput.increment(by: Int(timings.inputNanoseconds / 1000) * requests)
        metrics.computeInfer.increment(by: Int(timings.inferNanoseconds / 1000) * requests)
        metrics.computeOutput.increment(by: Int(timings.outputNanoseconds / 1000) * requests)
        metrics.computeHistogram.recordNanoseconds(Int64(timings.inputNanoseconds + timings.inferNanoseconds + timings.outputNanoseconds))
        state.withLock { stats in
            stats.executionCount &+= 1
            stats.inferenceCount &+= UInt64(batchSize)
            stats.lastInference = UInt64(Date().timeIntervalSince1970 * 1000)
            stats.inference.computeInput.add(timings.inputNanoseconds * UInt64(requests), count: UInt64(requests))
            stats.inference.computeInfer.add(timings.inferNanoseconds * UInt64(requests), count: UInt64(requests))
            stats.inference.computeOutput.add(timings.outputNanoseconds * UInt64(requests), count: UInt64(requests))
            let index: Int
            if let found = stats.batches.firstIndex(where: { $0.batchSize == batchSize }) {
                index = found
            } else {
                stats.batches.append(ModelStatistics.Batch(batchSize: batchSize))
                stats.batches.sort { $0.batchSize < $1.batchSize }
                index = stats.batches.firstIndex { $0.batchSize == batchSize }!
            }
            stats.batches[index].computeInput.add(timings.inputNanoseconds)
            stats.batches[index].computeInfer.add(timings.inferNanoseconds)
            stats.batches[index].computeOutput.add(timings.outputNanoseconds)
        }
    }

    /// Records how long a request waited in the queue before an instance took it or it left the
    /// queue otherwise (timed out, cancelled, failed at shutdown); 0 when it ran at once.
    func recordQueueWait(nanoseconds: UInt64) {
        metrics.queueHistogram.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// Records a request that finished: successfully or not, and how long it waited in the queue
    /// (Triton's queue counter and statistics; the queue histogram is recorded by the pool when
    /// the request leaves the queue, ``recordQueueWait(nanoseconds:)``).
    func recordRequest(success: Bool, totalNanoseconds: UInt64, queueNanoseconds: UInt64?) {
        (success ? metrics.success : metrics.failure).increment()
        metrics.requestDuration.increment(by: Int(totalNanoseconds / 1000))
        metrics.requestHistogram.recordNanoseconds(Int64(totalNanoseconds))
        if let queueNanoseconds {
            metrics.queueDuration.increment(by: Int(queueNanoseconds / 1000))
        }
        state.withLock { stats in
            if success {
                stats.inference.success.add(totalNanoseconds)
            } else {
                stats.inference.fail.add(totalNanoseconds)
            }
            if let queueNanoseconds { stats.inference.queue.add(queueNanoseconds) }
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds (0 when negative).
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole &+ UInt64(attoseconds / 1_000_000_000)
    }
}
