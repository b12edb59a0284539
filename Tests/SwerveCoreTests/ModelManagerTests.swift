import Foundation
import Synchronization
@testable import SwerveCore
import SwerveTesting
import Logging
import Testing

struct ModelManagerTests {
    func makeManager(_ repo: TemporaryRepository, _ models: [String: FakeBackend.FakeModel], queue: Int = 1024) -> ModelManager {
        ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: models),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2, defaultMaxQueueSize: queue),
            logger: Logger(label: "test"))
    }

    /// An identity model that takes 0.3 s a run and counts its runs.
    func countedSlowModel(_ runs: RunCounter) -> FakeBackend.FakeModel {
        FakeBackend.FakeModel(signature: FakeBackend.FakeModel.identity().signature) { inputs, _ in
            runs.increment()
            Thread.sleep(forTimeInterval: 0.3)
            return [NamedTensor(name: "y", tensor: inputs[0].tensor)]
        }
    }

    func request(_ model: String, version: Int? = nil, values: [Float] = [1, 2, 3, 4]) -> InferenceRequest {
        let data = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        return InferenceRequest(
            modelName: model, modelVersion: version,
            inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, values.count], data: data))])
    }

    /// A model with a broken config fails alone; the others serve.
    @Test func brokenModelDoesNotStopTheOthers() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("good")
        try repo.addModel("bad", config: "input [ { name: \"nope\" } ]")
        let manager = makeManager(repo, ["good": .identity(), "bad": .identity()])
        try await manager.loadAll()
        let response = try await manager.infer(request("good"))
        #expect(response.outputs.first?.tensor == request("good").inputs[0].tensor)
        let error = await #expect(throws: SwerveError.self) { try await manager.infer(request("bad")) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("input[0].name") == true)
        await manager.shutdown()
    }

    /// Unknown models and versions are notFound; the default version is the highest ready one.
    @Test func resolvesVersions() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", versions: [1, 2, 3], config: "version_policy: { specific: { versions: [1, 2] } }")
        let manager = makeManager(repo, ["m": .identity()])
        try await manager.loadAll()
        #expect(manager.readyVersions("m") == [1, 2])
        #expect(try await manager.infer(request("m")).modelVersion == 2)
        #expect(try await manager.infer(request("m", version: 1)).modelVersion == 1)
        let missingVersion = await #expect(throws: SwerveError.self) { try await manager.infer(request("m", version: 3)) }
        #expect(missingVersion?.code == .notFound)
        let missingModel = await #expect(throws: SwerveError.self) { try await manager.infer(request("nope")) }
        #expect(missingModel?.code == .notFound)
        await manager.shutdown()
    }

    /// A full queue refuses at once with unavailable instead of waiting.
    @Test func fullQueueRefusesImmediately() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow")
        let manager = makeManager(repo, ["slow": .identity(delay: 0.3)], queue: 2)
        try await manager.loadAll()
        let running = Task { try await manager.infer(request("slow")) }
        try await Task.sleep(for: .milliseconds(50))
        var results = await withTaskGroup(of: SwerveError.Code?.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    do {
                        _ = try await manager.infer(request("slow"))
                        return nil
                    } catch let error as SwerveError {
                        return error.code
                    } catch {
                        return .internal
                    }
                }
            }
            return await group.reduce(into: [SwerveError.Code?]()) { $0.append($1) }
        }
        _ = try await running.value
        results.append(nil)
        // One runs, two wait, three are refused.
        #expect(results.filter { $0 == nil }.count == 3)
        #expect(results.filter { $0 == .unavailable }.count == 3)
        await manager.shutdown()
    }

    /// A request cancelled while it waits is removed from the queue and never runs.
    @Test func cancelledRequestNeverRuns() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow")
        let runs = RunCounter()
        let manager = makeManager(repo, ["slow": countedSlowModel(runs)])
        try await manager.loadAll()
        let first = Task { try await manager.infer(request("slow")) }
        try await Task.sleep(for: .milliseconds(50))
        let second = Task { try await manager.infer(request("slow")) }
        try await Task.sleep(for: .milliseconds(50))
        second.cancel()
        let error = await #expect(throws: SwerveError.self) { try await second.value }
        #expect(error?.code == .cancelled)
        _ = try await first.value
        await manager.shutdown()
        #expect(runs.value == 2, "one warm-up run at load and the first request; the cancelled one never ran")
    }

    /// A request whose cancellation signal fires while it waits (an HTTP client that
    /// disconnected) is removed from the queue and never runs; one whose signal fired before it
    /// was queued is refused; a signal firing after the run changes nothing.
    @Test func signalledRequestNeverRuns() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow")
        let runs = RunCounter()
        let manager = makeManager(repo, ["slow": countedSlowModel(runs)])
        try await manager.loadAll()
        let firstSignal = CancellationSignal()
        var first = request("slow")
        first.cancellation = firstSignal
        let running = Task { [first] in try await manager.infer(first) }
        try await Task.sleep(for: .milliseconds(50))
        let signal = CancellationSignal()
        var second = request("slow")
        second.cancellation = signal
        let queued = Task { [second] in try await manager.infer(second) }
        try await Task.sleep(for: .milliseconds(50))
        signal.cancel()
        let error = await #expect(throws: SwerveError.self) { try await queued.value }
        #expect(error?.code == .cancelled)
        _ = try await running.value
        firstSignal.cancel()  // after its run: nothing to remove

        var late = request("slow")
        late.cancellation = signal  // already fired
        let refused = await #expect(throws: SwerveError.self) { try await manager.infer(late) }
        #expect(refused?.code == .cancelled)
        let stats = try manager.resolve("slow", version: nil).statistics
        await manager.shutdown()
        #expect(runs.value == 2, "one warm-up run at load and the first request; the signalled ones never ran")
        #expect(stats.inference.fail.count == 2 && stats.inference.success.count == 1 && stats.executionCount == 1)
    }

    /// Requests that do not match the model are refused before they are queued.
    @Test func invalidRequestsAreRefusedBeforeQueueing() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", config: "max_batch_size: 2")
        let manager = makeManager(repo, ["m": .identity()])
        try await manager.loadAll()
        var wrongType = request("m")
        wrongType.inputs[0].tensor.dataType = .int32
        var wrongName = request("m")
        wrongName.inputs[0].name = "z"
        var tooBig = request("m")
        tooBig.inputs[0].tensor = Tensor(dataType: .fp32, shape: [3, 4], data: [UInt8](repeating: 0, count: 48))
        var wrongOutput = request("m")
        wrongOutput.outputs = [.init(name: "q")]
        let missing = InferenceRequest(modelName: "m", inputs: [])
        for (bad, fragment) in [(wrongType, "datatype"), (wrongName, "unexpected input 'z'"), (tooBig, "max_batch_size"), (wrongOutput, "unexpected output 'q'"), (missing, "missing input 'x'")] {
            let error = await #expect(throws: SwerveError.self) { try await manager.infer(bad) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "")")
        }
        await manager.shutdown()
    }

    /// Unload lets in-flight requests finish, then the model answers notFound/unavailable.
    @Test func unloadDrainsInFlightRequests() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow")
        let manager = makeManager(repo, ["slow": .identity(delay: 0.2)])
        try await manager.loadAll()
        let inFlight = Task { try await manager.infer(request("slow")) }
        try await Task.sleep(for: .milliseconds(50))
        try await manager.unload("slow")
        _ = try await inFlight.value
        let error = await #expect(throws: SwerveError.self) { try await manager.infer(request("slow")) }
        #expect(error?.code == .unavailable)
        #expect(manager.statuses().first?.state == .unloaded)
    }

    /// Several instances run requests at the same time.
    @Test func instancesRunConcurrently() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow", config: "max_batch_size: 0\ninstance_group [ { count: 3 kind: KIND_CPU } ]")
        let concurrent = RunCounter()
        let model = FakeBackend.FakeModel(signature: FakeBackend.FakeModel.identity().signature) { inputs, _ in
            concurrent.enter()
            Thread.sleep(forTimeInterval: 0.2)
            concurrent.leave()
            return [NamedTensor(name: "y", tensor: inputs[0].tensor)]
        }
        let manager = makeManager(repo, ["slow": model])
        try await manager.loadAll()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { _ = try await manager.infer(request("slow")) } }
            try await group.waitForAll()
        }
        #expect(concurrent.peak == 3)
        await manager.shutdown()
    }

    /// A fast model's requests run on the caller's thread when the queue is empty (no hand-over
    /// to a worker and back); a slow model's never do, so no caller's thread is held up.
    @Test func onlyFastModelsRunOnTheCallingThread() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("fast")
        try repo.addModel("slow")
        let threads = CallerMarks()
        func model(sleep: Double) -> FakeBackend.FakeModel {
            FakeBackend.FakeModel(signature: FakeBackend.FakeModel.identity().signature) { inputs, _ in
                threads.record(CallerMarks.inCaller)
                if sleep > 0 { Thread.sleep(forTimeInterval: sleep) }
                return [NamedTensor(name: "y", tensor: inputs[0].tensor)]
            }
        }
        let manager = makeManager(repo, ["fast": model(sleep: 0), "slow": model(sleep: 0.002)])
        try await manager.loadAll()
        _ = threads.take()  // the warm-up runs
        try await CallerMarks.$inCaller.withValue(true) {
            for _ in 0..<50 { _ = try await manager.infer(request("fast")) }
        }
        let fast = threads.take()
        try await CallerMarks.$inCaller.withValue(true) {
            for _ in 0..<10 { _ = try await manager.infer(request("slow")) }
        }
        let slow = threads.take()
        await manager.shutdown()
        #expect(fast.count == 50 && slow.count == 10)
        #expect(fast.contains(true), "no fast request ran on its caller's thread")
        #expect(!fast.allSatisfy { $0 }, "the first fast request (no timing yet) should have gone to a worker")
        #expect(!slow.contains(true), "a slow request ran on its caller's thread")
    }
}

/// Whether a fake model ran inside the calling task (a task-local the caller sets is visible
/// there and nowhere else), run after run.
final class CallerMarks: Sendable {
    @TaskLocal static var inCaller = false
    private let marks = Mutex<[Bool]>([])
    func record(_ mark: Bool) { marks.withLock { $0.append(mark) } }
    func take() -> [Bool] { marks.withLock { marks in defer { marks = [] }; return marks } }
}

/// Counts calls and the most that overlapped, from any thread.
final class RunCounter: @unchecked Sendable {
    // @unchecked: all state is guarded by `lock`.
    private let lock = NSLock()
    private var count = 0
    private var active = 0
    private(set) var peak = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
    func enter() { lock.withLock { active += 1; peak = max(peak, active) } }
    func leave() { lock.withLock { active -= 1 } }
}

struct ModelControlTests {
    func manager(_ repo: TemporaryRepository) -> ModelManager {
        ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["m": .identity(), "n": .identity()]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
    }

    /// Polling loads a new version before the old one goes, and notices added and removed models.
    @Test func pollFollowsTheRepository() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", versions: [1])
        let manager = manager(repo)
        try await manager.loadAll()
        #expect(manager.readyVersions("m") == [1])
        try repo.addModel("m", versions: [2])
        try repo.addModel("n", versions: [1])
        await manager.poll()
        #expect(manager.readyVersions("m") == [2])
        #expect(manager.readyVersions("n") == [1])
        try FileManager.default.removeItem(atPath: repo.root + "/n")
        await manager.poll()
        #expect(manager.readyVersions("n") == [])
        await manager.shutdown()
    }

    /// Explicit mode loads only what is asked; load and unload are refused in other modes.
    @Test func explicitModeLoadsOnRequest() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m")
        try repo.addModel("n")
        let explicit = InferenceServer(manager: manager(repo), controlMode: .explicit, startupModels: ["m"])
        try await explicit.start()
        #expect(explicit.repositoryIndex(readyOnly: true).map(\.name) == ["m"])
        #expect(explicit.repositoryIndex(readyOnly: false).map(\.name) == ["m", "n"])
        try await explicit.loadModel("n")
        #expect(explicit.manager.readyVersions("n") == [1])
        try await explicit.unloadModel("m")
        #expect(explicit.repositoryIndex(readyOnly: false).first { $0.name == "m" }?.state == "UNAVAILABLE")
        await explicit.manager.shutdown()

        let fixed = InferenceServer(manager: manager(repo), controlMode: .none)
        try await fixed.start()
        await #expect(throws: SwerveError.self) { try await fixed.unloadModel("m") }
        await fixed.manager.shutdown()
    }

    /// A config given through the API replaces config.pbtxt; a bad one fails with the reason and
    /// leaves the served version serving.
    @Test func configOverrideReplacesTheConfig() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", versions: [1, 2])
        let server = InferenceServer(manager: manager(repo), controlMode: .explicit, startupModels: ["m"])
        try await server.start()
        #expect(server.manager.readyVersions("m") == [2])
        try await server.loadModel("m", override: ModelOverride(configJSON: #"{"version_policy":{"all":{}}}"#))
        #expect(server.manager.readyVersions("m") == [1, 2])
        await #expect(throws: SwerveError.self) {
            try await server.loadModel("m", override: ModelOverride(configJSON: #"{"input":[{"name":"nope"}]}"#))
        }
        #expect(server.manager.readyVersions("m") == [1, 2])
        await server.manager.shutdown()
    }

    /// Statistics count requests, inferences and executions.
    @Test func statisticsCountRequests() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", config: "max_batch_size: 8")
        let server = InferenceServer(manager: manager(repo))
        try await server.start()
        let data = [UInt8](repeating: 0, count: 3 * 4 * 4)
        for _ in 0..<5 {
            _ = try await server.infer(InferenceRequest(modelName: "m", inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [3, 4], data: data))]))
        }
        _ = try? await server.infer(InferenceRequest(modelName: "m", inputs: []))
        let stats = try #require(try server.statistics(model: "m", version: nil).first)
        #expect(stats.inference.success.count == 5)
        #expect(stats.inference.fail.count == 1)
        #expect(stats.inferenceCount == 15)
        #expect(stats.executionCount == 5)
        #expect(stats.batches.map(\.batchSize) == [3])
        #expect(stats.lastInference > 0)
        await #expect(throws: SwerveError.self) { try server.statistics(model: "zz", version: nil) }
        await server.manager.shutdown()
    }
}

struct BatchingTests {
    /// A model that doubles its input and records the batch sizes it ran.
    final class Doubler: @unchecked Sendable {
        // @unchecked: `sizes` is guarded by `lock`.
        let lock = NSLock()
        var sizes: [Int] = []
        let delay: Double
        init(delay: Double = 0.05) { self.delay = delay }
        var model: FakeBackend.FakeModel {
            FakeBackend.FakeModel(signature: FakeBackend.FakeModel.identity(.fp32, shape: [-1, -1]).signature) { inputs, _ in
                self.lock.withLock { self.sizes.append(inputs[0].tensor.shape[0]) }
                Thread.sleep(forTimeInterval: self.delay)
                let values = inputs[0].tensor.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }.map { $0 * 2 }
                return [NamedTensor(name: "y", tensor: Tensor(dataType: .fp32, shape: inputs[0].tensor.shape, data: values.withUnsafeBytes(Array.init)))]
            }
        }
    }

    func request(_ rows: Int, width: Int, start: Float) -> InferenceRequest {
        let values = (0..<(rows * width)).map { start + Float($0) }
        return InferenceRequest(modelName: "m", inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [rows, width], data: values.withUnsafeBytes(Array.init)))])
    }

    /// Concurrent requests are merged into batches, and each gets exactly its own rows back.
    @Test func batchedResultsEqualUnbatchedResults() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", config: "max_batch_size: 16\ndynamic_batching { max_queue_delay_microseconds: 20000 }")
        let doubler = Doubler()
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["m": doubler.model]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        try await manager.loadAll()
        let requests = (0..<8).map { request($0 % 3 + 1, width: $0 < 4 ? 4 : 2, start: Float($0 * 100)) }
        let responses = try await withThrowingTaskGroup(of: (Int, InferenceResponse).self) { group in
            for (index, request) in requests.enumerated() {
                group.addTask { (index, try await manager.infer(request)) }
            }
            return try await group.reduce(into: [Int: InferenceResponse]()) { $0[$1.0] = $1.1 }
        }
        for (index, request) in requests.enumerated() {
            let input = request.inputs[0].tensor
            let output = try #require(responses[index]?.outputs.first?.tensor)
            #expect(output.shape == input.shape)
            let expected = input.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }.map { $0 * 2 }
            #expect(output.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } == expected)
        }
        // Fewer executions than requests: merging happened, and never across widths.
        let stats = try #require(manager.resolve("m", version: nil).statistics)
        #expect(stats.executionCount < 8)
        #expect(stats.inferenceCount == UInt64(requests.reduce(0) { $0 + $1.inputs[0].tensor.shape[0] }))
        await manager.shutdown()
    }

    /// A request whose queue timeout passes while it waits fails and never runs.
    @Test func timedOutRequestIsNotExecuted() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", config: "max_batch_size: 1\ndynamic_batching { default_queue_policy { default_timeout_microseconds: 20000 } }")
        let doubler = Doubler(delay: 0.5)
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["m": doubler.model]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        try await manager.loadAll()
        let first = Task { try await manager.infer(request(1, width: 2, start: 0)) }
        // Wait until the first request runs (after the warm-up run): the second then waits behind it past its 20 ms timeout.
        while doubler.lock.withLock({ doubler.sizes.count }) < 2 { try await Task.sleep(for: .milliseconds(1)) }
        let second = await Task { try? await manager.infer(request(1, width: 2, start: 0)) }.value
        _ = try await first.value
        #expect(second == nil)
        #expect(doubler.lock.withLock { doubler.sizes.count } == 2, "the warm-up run and the first request only")
        await manager.shutdown()
    }
}


struct WarmupTests {
    /// Every instance runs once on zeros before the version is ready.
    @Test func everyInstanceIsWarmedBeforeReady() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", config: "instance_group [ { count: 2 kind: KIND_CPU } ]")
        let runs = RunCounter()
        let model = FakeBackend.FakeModel(signature: FakeBackend.FakeModel.identity(.fp32, shape: [-1, -1]).signature) { inputs, _ in
            runs.increment()
            #expect(inputs[0].tensor.shape == [1, 1])
            return [NamedTensor(name: "y", tensor: inputs[0].tensor)]
        }
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["m": model]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        try await manager.loadAll()
        #expect(runs.value == 2)
        #expect(manager.readyVersions("m") == [1])
        await manager.shutdown()
    }

    /// A declared model_warmup runs as configured, and its failure fails the load with the reason.
    @Test func declaredWarmupRunsAndItsFailureFailsTheLoad() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        let warmup = "model_warmup [ { name: \"w\" batch_size: 2 count: 3 inputs { key: \"x\" value: { data_type: TYPE_FP32 dims: [ 4 ] zero_data: true } } } ]"
        try repo.addModel("good", config: warmup)
        try repo.addModel("bad", config: warmup)
        let runs = RunCounter()
        let good = FakeBackend.FakeModel(signature: FakeBackend.FakeModel.identity(.fp32, shape: [-1, 4]).signature) { inputs, _ in
            runs.increment()
            #expect(inputs[0].tensor.shape == [2, 4])
            return [NamedTensor(name: "y", tensor: inputs[0].tensor)]
        }
        let bad = FakeBackend.FakeModel(signature: FakeBackend.FakeModel.identity(.fp32, shape: [-1, 4]).signature) { _, _ in
            throw SwerveError(.modelFailed, "boom")
        }
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["good": good, "bad": bad]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        try await manager.loadAll()
        #expect(runs.value == 3)
        #expect(manager.readyVersions("good") == [1])
        let error = #expect(throws: SwerveError.self) { try manager.resolve("bad", version: nil) }
        #expect(error?.message.contains("model_warmup 'w' failed") == true, "\(error?.message ?? "")")
        await manager.shutdown()
    }
}
