import Foundation
@testable import SwerveCore
import SwerveTesting

/// A fake model instance that counts its own deinit, so a test sees when a pool lets its
/// instances (for ONNX Runtime, the sessions) go.
final class TrackedInstance: ModelInstance {
    let model: FakeBackend.FakeModel
    let releases: RunCounter

    init(_ model: FakeBackend.FakeModel, releases: RunCounter = RunCounter()) {
        self.model = model
        self.releases = releases
    }

    deinit { releases.increment() }

    var signature: ModelSignature { model.signature }

    func run(inputs: [NamedTensor], outputs: [String]) throws -> [NamedTensor] {
        try model.run(inputs, outputs)
    }
}

/// Instance pools built directly over fake instances, and the requests they run.
enum PoolFixtures {
    /// A pool of `instances` named `name`, with a queue of 64.
    static func pool(
        _ instances: [any ModelInstance], name: String = "m", policy: BatchPolicy = .unbatched,
        clock: any SchedulingClock = SystemSchedulingClock(), executor: ExecutionThreads,
        inlineLimit: Duration = InstancePool.defaultInlineLimit
    ) -> InstancePool {
        InstancePool(
            instances: instances, maxQueueSize: 64, policy: policy, label: "'\(name)' version 1",
            statistics: StatisticsRecorder(name: name, version: 1), clock: clock, executor: executor, inlineLimit: inlineLimit)
    }

    /// A model that records `name` in `runs` each time it runs, then answers its input.
    static func recording(_ name: String, in runs: Recorded<String>) -> FakeBackend.FakeModel {
        FakeBackend.FakeModel(signature: FakeBackend.FakeModel.identity().signature) { inputs, _ in
            runs.append(name)
            return [NamedTensor(name: "y", tensor: inputs[0].tensor)]
        }
    }

    /// A batching policy that waits up to `delay` for batches of 8 rows.
    static func batching(delay: Duration) -> BatchPolicy {
        BatchPolicy(
            batching: true, maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelay: delay, defaultTimeout: nil,
            allowTimeoutOverride: false, rejectOnTimeout: true)
    }

    /// Runs one request of one row on `pool` and returns its output.
    @discardableResult
    static func infer(_ pool: InstancePool, value: Float = 1) async throws -> Tensor {
        let data = [Float](repeating: value, count: 4).flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let input = NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, 4], data: data))
        let completed = try await pool.submit(inputs: [input], outputs: ["y"], batchSize: 1)
        return completed.outputs[0].tensor
    }
}

/// The threads of this process, from `/proc/self/task`.
enum ProcessThreads {
    /// How many threads the process has.
    static var count: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }

    /// How many of them are named `name` (as `/proc` shows it, 15 characters at most).
    static func named(_ name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
            return comm?.trimmingCharacters(in: .newlines) == name
        }.count
    }
}
