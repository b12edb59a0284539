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
        let gate = RunGate()
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["gated": gate.model()]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2, defaultMaxQueueSize: 16),
            logger: Logger(label: "test"))
        try await manager.loadAll()
        let served = try manager.resolve("gated", version: nil)
        let loadRuns = gate.runs

        gate.close()
        defer { gate.open() }  // a failed wait below must not leave the running request blocked
        let running = Task { try await manager.infer(Self.request()) }
        try await gate.waitUntilRunning()

        let signal = CancellationSignal()
        var shared = Self.request()
        shared.cancellation = signal
        let queued = (0..<3).map { _ in Task { [shared] in try await manager.infer(shared) } }
        try await waitUntil("three requests queue behind the running one") { served.pool.queuedCount == 3 }

        signal.cancel()
        // The gate opens whatever happened, so that requests left queued run and every task ends.
        let emptied = try await eventually(seconds: 5) { served.pool.queuedCount == 0 }
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
        #expect(emptied, "the signal removed every queued request")
        #expect(cancelled == 3)
        #expect(gate.runs - loadRuns == 1, "only the request that was running ran; the three signalled ones did not")
    }

    static func request() -> InferenceRequest {
        let data = [Float](repeating: 1, count: 4).flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        return InferenceRequest(
            modelName: "gated", modelVersion: nil,
            inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, 4], data: data))])
    }

    /// Polls `condition` until it holds, failing after `seconds`.
    func waitUntil(_ what: String, seconds: Double = 10, _ condition: () -> Bool) async throws {
        guard try await eventually(seconds: seconds, condition) else {
            Issue.record("timed out waiting until \(what)")
            throw CancellationError()
        }
    }

    /// Polls `condition` until it holds (true) or `seconds` pass (false).
    func eventually(seconds: Double = 10, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(5))
        }
        return true
    }
}

/// An identity model whose runs, once the gate is closed, report that they started and wait
/// until it opens again; while open, a run takes 2 ms (slow enough that the pool queues requests
/// for its worker instead of running them on the caller's thread).
final class RunGate: Sendable {
    private let state = Mutex((closed: false, runs: 0))
    private let started = DispatchSemaphore(value: 0)
    private let opened = DispatchSemaphore(value: 0)

    /// Runs counted so far, warm-up runs at load included.
    var runs: Int { state.withLock { $0.runs } }

    func close() { state.withLock { $0.closed = true } }

    /// Lets the run waiting at the gate, and every later one, go on.
    func open() {
        state.withLock { $0.closed = false }
        opened.signal()
    }

    /// Returns once a run is waiting at the closed gate; throws after 10 seconds.
    func waitUntilRunning() async throws {
        let started = self.started
        let arrived = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: started.wait(timeout: .now() + 10) == .success) }
        }
        guard arrived else {
            Issue.record("no run started within 10 seconds")
            throw CancellationError()
        }
    }

    func model() -> FakeBackend.FakeModel {
        FakeBackend.FakeModel(signature: FakeBackend.FakeModel.identity().signature) { [self] inputs, _ in
            let closed = state.withLock { state in
                state.runs += 1
                return state.closed
            }
            if closed {
                started.signal()
                opened.wait()
            } else {
                Thread.sleep(forTimeInterval: 0.002)
            }
            return [NamedTensor(name: "y", tensor: inputs[0].tensor)]
        }
    }
}
