import Foundation
import Synchronization
@testable import SwerveCore
import SwerveTesting
import Logging
import Testing

struct ModelManagerTests {
    func makeManager(
        _ repo: TemporaryRepository, _ models: [String: FakeBackend.FakeModel], queue: Int = 1024,
        clock: any SchedulingClock = SystemSchedulingClock()
    ) -> ModelManager {
        ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: models),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2, defaultMaxQueueSize: queue, clock: clock),
            logger: Logger(label: "test"))
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

    /// A full queue refuses at once with unavailable instead of waiting: while the only instance
    /// is held, two of five requests queue and three are refused.
    @Test func fullQueueRefusesImmediately() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow")
        let gate = GatedModel()
        defer { gate.open() }
        let manager = makeManager(repo, ["slow": gate.model], queue: 2)
        try await manager.loadAll()
        let pool = try manager.resolve("slow", version: nil).pool
        gate.close()
        let running = Task { try await manager.infer(request("slow")) }
        try await waitUntil("the first request holds the only instance") { gate.heldCount == 1 }
        let refusals = Recorded<SwerveError.Code>()
        let others = (0..<5).map { _ in
            Task { () -> InferenceResponse? in
                do {
                    return try await manager.infer(request("slow"))
                } catch let error as SwerveError {
                    refusals.append(error.code)
                    return nil
                }
            }
        }
        // The refusals come while the instance is still held: nobody waited for a free one.
        try await waitUntil("three requests are refused and two are queued") {
            refusals.all.count == 3 && pool.queuedCount == 2
        }
        #expect(refusals.all == [.unavailable, .unavailable, .unavailable])
        #expect(gate.heldCount == 1)
        gate.open()
        _ = try await running.value
        var answered = 0
        for other in others {
            if try await other.value != nil { answered += 1 }
        }
        #expect(answered == 2, "the two queued requests run once the instance is free")
        #expect(refusals.all.count == 3)
        await manager.shutdown()
    }

    /// A request cancelled while it waits is removed from the queue and never runs.
    @Test func cancelledRequestNeverRuns() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow")
        let gate = GatedModel()
        defer { gate.open() }
        let manager = makeManager(repo, ["slow": gate.model])
        try await manager.loadAll()
        let pool = try manager.resolve("slow", version: nil).pool
        gate.close()
        let first = Task { try await manager.infer(request("slow")) }
        try await waitUntil("the first request holds the only instance") { gate.heldCount == 1 }
        let second = Task { try await manager.infer(request("slow")) }
        try await waitUntil("the second request is queued") { pool.queuedCount == 1 }
        second.cancel()
        let error = await #expect(throws: SwerveError.self) { try await second.value }
        #expect(error?.code == .cancelled)
        #expect(pool.queuedCount == 0, "the cancelled request left the queue")
        gate.open()
        _ = try await first.value
        await manager.shutdown()
        #expect(gate.runCount == 2, "one warm-up run at load and the first request; the cancelled one never ran")
    }

    /// A request whose cancellation signal fires while it waits (an HTTP client that
    /// disconnected) is removed from the queue and never runs; one whose signal fired before it
    /// was queued is refused; a signal firing after the run changes nothing.
    @Test func signalledRequestNeverRuns() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow")
        let gate = GatedModel()
        defer { gate.open() }
        let manager = makeManager(repo, ["slow": gate.model])
        try await manager.loadAll()
        let pool = try manager.resolve("slow", version: nil).pool
        gate.close()
        let firstSignal = CancellationSignal()
        var first = request("slow")
        first.cancellation = firstSignal
        let running = Task { [first] in try await manager.infer(first) }
        try await waitUntil("the first request holds the only instance") { gate.heldCount == 1 }
        let signal = CancellationSignal()
        var second = request("slow")
        second.cancellation = signal
        let queued = Task { [second] in try await manager.infer(second) }
        try await waitUntil("the second request is queued") { pool.queuedCount == 1 }
        signal.cancel()
        let error = await #expect(throws: SwerveError.self) { try await queued.value }
        #expect(error?.code == .cancelled)
        #expect(pool.queuedCount == 0, "the signalled request left the queue")
        gate.open()
        _ = try await running.value
        firstSignal.cancel()  // after its run: nothing to remove

        var late = request("slow")
        late.cancellation = signal  // already fired
        let refused = await #expect(throws: SwerveError.self) { try await manager.infer(late) }
        #expect(refused?.code == .cancelled)
        let stats = try manager.resolve("slow", version: nil).statistics
        await manager.shutdown()
        #expect(gate.runCount == 2, "one warm-up run at load and the first request; the signalled ones never ran")
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

    /// Unload waits for the requests in flight: the version is unloading (new requests are
    /// unavailable) until the running one finishes, then unloaded, and the model is notFound.
    @Test func unloadDrainsInFlightRequests() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow")
        let gate = GatedModel()
        defer { gate.open() }
        let manager = makeManager(repo, ["slow": gate.model])
        try await manager.loadAll()
        gate.close()
        let inFlight = Task { try await manager.infer(request("slow")) }
        try await waitUntil("the request holds the only instance") { gate.heldCount == 1 }
        let unloading = Task { try await manager.unload("slow") }
        try await waitUntil("the version is unloading") { manager.statuses().first?.state == .unloading }
        let during = await #expect(throws: SwerveError.self) { try await manager.infer(request("slow")) }
        #expect(during?.code == .unavailable)
        #expect(manager.statuses().first?.state == .unloading, "unload finished while a request was still running")
        gate.open()
        _ = try await inFlight.value
        try await unloading.value
        #expect(manager.statuses().first?.state == .unloaded)
        let after = await #expect(throws: SwerveError.self) { try await manager.infer(request("slow")) }
        #expect(after?.code == .notFound)
        #expect(gate.runCount == 2, "the warm-up run and the drained request; the refused one never ran")
    }

    /// Several instances run requests at the same time.
    @Test func instancesRunConcurrently() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow", config: "max_batch_size: 0\ninstance_group [ { count: 3 kind: KIND_CPU } ]")
        let gate = GatedModel()
        defer { gate.open() }
        let manager = makeManager(repo, ["slow": gate.model])
        try await manager.loadAll()
        gate.close()
        let requests = (0..<3).map { _ in Task { try await manager.infer(request("slow")) } }
        // Three runs held at once can only be three instances running at the same time.
        try await waitUntil("three requests run at once") { gate.heldCount == 3 }
        gate.open()
        for request in requests { _ = try await request.value }
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

/// Values recorded from any task or thread, in the order they came.
final class Recorded<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    var all: [Value] { values.withLock { $0 } }
    func append(_ value: Value) { values.withLock { $0.append(value) } }
}

/// Counts calls, from any thread.
final class RunCounter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
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
        let refused = await #expect(throws: SwerveError.self) { try await fixed.unloadModel("m") }
        #expect(refused?.code == .invalidArgument)
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
        try await server.loadModel("m", override: try ModelOverride.parse(["config": .string(#"{"version_policy":{"all":{}}}"#)]))
        #expect(server.manager.readyVersions("m") == [1, 2])
        await #expect(throws: SwerveError.self) {
            try await server.loadModel("m", override: try ModelOverride.parse(["config": .string(#"{"input":[{"name":"nope"}]}"#)]))
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
        let missing = await #expect(throws: SwerveError.self) { try await server.infer(InferenceRequest(modelName: "m", inputs: [])) }
        #expect(missing?.code == .invalidArgument)
        let stats = try #require(try server.statistics(model: "m", version: nil).first)
        #expect(stats.inference.success.count == 5)
        #expect(stats.inference.fail.count == 1)
        #expect(stats.inferenceCount == 15)
        #expect(stats.executionCount == 5)
        #expect(stats.batches.map(\.batchSize) == [3])
        #expect(stats.lastInference > 0)
        let unknown = #expect(throws: SwerveError.self) { try server.statistics(model: "zz", version: nil) }
        #expect(unknown?.code == .notFound)
        await server.manager.shutdown()
    }
}

struct BatchingTests {
    /// A model that doubles its input and records the batch sizes it ran.
    final class Doubler: Sendable {
        private let sizes = Mutex<[Int]>([])
        /// The batch sizes of the runs so far, warm-up included.
        var batchSizes: [Int] { sizes.withLock { $0 } }
        var model: FakeBackend.FakeModel {
            FakeBackend.FakeModel(signature: FakeBackend.FakeModel.identity(.fp32, shape: [-1, -1]).signature) { inputs, _ in
                self.sizes.withLock { $0.append(inputs[0].tensor.shape[0]) }
                let values = inputs[0].tensor.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }.map { $0 * 2 }
                return [NamedTensor(name: "y", tensor: Tensor(dataType: .fp32, shape: inputs[0].tensor.shape, data: values.withUnsafeBytes(Array.init)))]
            }
        }
    }

    func manager(_ repo: TemporaryRepository, _ model: FakeBackend.FakeModel, clock: ManualSchedulingClock) -> ModelManager {
        ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["m": model]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2, clock: clock), logger: Logger(label: "test"))
    }

    func request(_ rows: Int, width: Int, start: Float) -> InferenceRequest {
        let values = (0..<(rows * width)).map { start + Float($0) }
        return InferenceRequest(modelName: "m", inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [rows, width], data: values.withUnsafeBytes(Array.init)))])
    }

    /// Queued requests are merged into batches, never across shapes, and each gets exactly its
    /// own rows back: eight requests of two widths make two executions once the delay passes.
    @Test func batchedResultsEqualUnbatchedResults() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", config: "max_batch_size: 16\ndynamic_batching { max_queue_delay_microseconds: 20000 }")
        let doubler = Doubler()
        let clock = ManualSchedulingClock()
        let manager = manager(repo, doubler.model, clock: clock)
        try await manager.loadAll()
        let pool = try manager.resolve("m", version: nil).pool
        // Widths 4 (rows 1+2+3+1 = 7) and 2 (rows 2+3+1+2 = 8): neither fills a batch of 16.
        let requests = (0..<8).map { request($0 % 3 + 1, width: $0 < 4 ? 4 : 2, start: Float($0 * 100)) }
        let answers = requests.map { request in Task { try await manager.infer(request) } }
        try await waitUntil("the eight requests are queued") { pool.queuedCount == 8 }
        clock.advance(by: .milliseconds(21))
        for (request, answer) in zip(requests, answers) {
            let input = request.inputs[0].tensor
            let output = try #require(try await answer.value.outputs.first?.tensor)
            #expect(output.shape == input.shape)
            let expected = input.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }.map { $0 * 2 }
            #expect(output.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } == expected)
        }
        let stats = try #require(manager.resolve("m", version: nil).statistics)
        #expect(stats.executionCount == 2)
        #expect(doubler.batchSizes.dropFirst().sorted() == [7, 8], "one batch per width, after the warm-up run")
        #expect(stats.inferenceCount == UInt64(requests.reduce(0) { $0 + $1.inputs[0].tensor.shape[0] }))
        await manager.shutdown()
    }

    /// With a batching delay, queued requests wait while the scheduling clock stands still and
    /// run as one batch once it passes the delay.
    @Test func requestsWaitForTheBatchingDelayThenRunAsOneBatch() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", config: "max_batch_size: 8\ndynamic_batching { max_queue_delay_microseconds: 1000000 }")
        let doubler = Doubler()
        let clock = ManualSchedulingClock()
        let manager = manager(repo, doubler.model, clock: clock)
        try await manager.loadAll()
        let pool = try manager.resolve("m", version: nil).pool
        #expect(doubler.batchSizes == [1], "the warm-up run")
        let first = Task { try await manager.infer(request(1, width: 2, start: 0)) }
        let second = Task { try await manager.infer(request(1, width: 2, start: 10)) }
        // Had either run on arrival, two would never be queued at once.
        try await waitUntil("both requests are queued") { pool.queuedCount == 2 }
        #expect(doubler.batchSizes == [1])
        clock.advance(by: .milliseconds(999))
        #expect(pool.queuedCount == 2)
        clock.advance(by: .milliseconds(2))
        #expect(try await first.value.outputs.first?.tensor.shape == [1, 2])
        #expect(try await second.value.outputs.first?.tensor.shape == [1, 2])
        #expect(doubler.batchSizes == [1, 2], "the warm-up run, then one run of both requests")
        let stats = try manager.resolve("m", version: nil).statistics
        #expect(stats.executionCount == 1)
        #expect(stats.batches.map(\.batchSize) == [2])
        await manager.shutdown()
    }

    /// A request whose queue timeout passes while the only instance is busy fails with
    /// deadlineExceeded when the instance frees, and never runs.
    @Test func timedOutRequestIsNotExecuted() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel(
            "m",
            config: "max_batch_size: 1\ndynamic_batching { default_queue_policy { timeout_action: REJECT default_timeout_microseconds: 20000 } }")
        let gate = GatedModel(shape: [-1, -1])
        defer { gate.open() }
        let clock = ManualSchedulingClock()
        let manager = manager(repo, gate.model, clock: clock)
        try await manager.loadAll()
        let pool = try manager.resolve("m", version: nil).pool
        gate.close()
        let first = Task { try await manager.infer(request(1, width: 2, start: 0)) }
        try await waitUntil("the first request holds the only instance") { gate.heldCount == 1 }
        let second = Task { try await manager.infer(request(1, width: 2, start: 10)) }
        try await waitUntil("the second request is queued") { pool.queuedCount == 1 }
        clock.advance(by: .milliseconds(21))
        gate.open()
        _ = try await first.value
        let error = await #expect(throws: SwerveError.self) { try await second.value }
        #expect(error?.code == .deadlineExceeded)
        #expect(gate.runCount == 2, "the warm-up run and the first request only")
        #expect(gate.batchSizes == [1, 1])
        let stats = try manager.resolve("m", version: nil).statistics
        #expect(stats.inference.success.count == 1)
        #expect(stats.inference.fail.count == 1, "a timed-out request is one failure")
        await manager.shutdown()
    }

    /// A queue timeout shorter than the batching delay ends the wait: when the clock passes it,
    /// the waiting worker wakes and fails the request without running it.
    @Test func queueTimeoutEndsTheBatchingWait() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel(
            "m",
            config: "max_batch_size: 8\ndynamic_batching { max_queue_delay_microseconds: 1000000 default_queue_policy { default_timeout_microseconds: 20000 } }")
        let doubler = Doubler()
        let clock = ManualSchedulingClock()
        let manager = manager(repo, doubler.model, clock: clock)
        try await manager.loadAll()
        let pool = try manager.resolve("m", version: nil).pool
        let waiting = Task { try await manager.infer(request(1, width: 2, start: 0)) }
        try await waitUntil("the request is queued") { pool.queuedCount == 1 }
        clock.advance(by: .milliseconds(19))
        #expect(pool.queuedCount == 1)
        clock.advance(by: .milliseconds(2))
        let error = await #expect(throws: SwerveError.self) { try await waiting.value }
        #expect(error?.code == .deadlineExceeded)
        #expect(pool.queuedCount == 0)
        #expect(doubler.batchSizes == [1], "the warm-up run only")
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
