import Dispatch
import Foundation
import Logging
import Synchronization
@testable import SwerveCore
import SwerveTesting
import Testing

struct CancellationSignalTests {
    /// Counts how many times each registered handler ran.
    final class HandlerRuns: Sendable {
        private let counts: Mutex<[Int]>

        init(handlers: Int) {
            counts = Mutex(Array(repeating: 0, count: handlers))
        }

        func record(_ index: Int) {
            counts.withLock { $0[index] += 1 }
        }

        var value: [Int] { counts.withLock { $0 } }
    }

    /// Every handler registered on one signal runs, once, when it fires; none runs before.
    @Test func cancelRunsEveryRegisteredHandlerOnce() {
        let signal = CancellationSignal()
        let runs = HandlerRuns(handlers: 4)
        for index in 0..<4 {
            #expect(signal.onCancel { runs.record(index) })
        }
        #expect(!signal.isCancelled)
        #expect(runs.value == [0, 0, 0, 0])
        signal.cancel()
        #expect(signal.isCancelled)
        #expect(runs.value == [1, 1, 1, 1])
    }

    /// Firing a signal a second time runs no handler again.
    @Test func cancellingTwiceRunsHandlersOnce() {
        let signal = CancellationSignal()
        let runs = HandlerRuns(handlers: 2)
        #expect(signal.onCancel { runs.record(0) })
        #expect(signal.onCancel { runs.record(1) })
        signal.cancel()
        signal.cancel()
        #expect(runs.value == [1, 1])
    }

    /// A handler registered after the signal fired is refused and never runs, neither then nor
    /// when the signal is fired again.
    @Test func registeringAfterCancelIsRefused() {
        let signal = CancellationSignal()
        let runs = HandlerRuns(handlers: 2)
        #expect(signal.onCancel { runs.record(0) })
        signal.cancel()
        #expect(!signal.onCancel { runs.record(1) })
        signal.cancel()
        #expect(runs.value == [1, 0])
    }

    /// A handler may fire the signal again or register another handler (a handler takes locks
    /// of its own): both are answered without deadlock, as for a signal that has fired.
    @Test func handlerMayUseTheSignal() {
        let signal = CancellationSignal()
        let runs = HandlerRuns(handlers: 2)
        #expect(signal.onCancel {
            runs.record(0)
            signal.cancel()
            if signal.onCancel({ runs.record(1) }) { runs.record(1) }
        })
        signal.cancel()
        #expect(runs.value == [1, 0])
    }

    /// Several core requests carrying one signal (the images of one TorchServe multipart
    /// request) wait behind a running request on a model with one instance; firing the signal
    /// removes every one of them from the queue, and none of them runs.
    @Test func sharedSignalDropsEveryQueuedRequest() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("gated", config: "max_batch_size: 0\ninstance_group [ { count: 1 kind: KIND_CPU } ]")
        let gate = GatedModel()
        defer { gate.open() }  // a failed wait below must not leave the running request blocked
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["gated": gate.model]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2, defaultMaxQueueSize: 16),
            logger: Logger(label: "test"))
        try await manager.loadAll()
        let served = try manager.resolve("gated", version: nil)
        let loadRuns = gate.runCount

        gate.close()
        let running = Task { try await manager.infer(Self.request()) }
        try await waitUntil("the first request holds the only instance") { gate.heldCount == 1 }

        let signal = CancellationSignal()
        var shared = Self.request()
        shared.cancellation = signal
        let queued = (0..<3).map { _ in Task { [shared] in try await manager.infer(shared) } }
        try await waitUntil("three requests queue behind the running one") { served.pool.queuedCount == 3 }

        signal.cancel()
        try await waitUntil("the signal removes every queued request") { served.pool.queuedCount == 0 }
        gate.open()
        var cancelled = 0
        for task in queued {
            do {
                _ = try await task.value
            } catch let error as SwerveError where error.code == .cancelled {
                cancelled += 1
            }
        }
        _ = try await running.value
        await manager.shutdown()
        #expect(cancelled == 3)
        #expect(gate.runCount - loadRuns == 1, "only the request that was running ran; the three signalled ones did not")
    }

    static func request() -> InferenceRequest {
        let data = [Float](repeating: 1, count: 4).flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        return InferenceRequest(
            modelName: "gated", modelVersion: nil,
            inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, 4], data: data))])
    }
}

