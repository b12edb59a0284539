import Foundation
import GRPCCore
import Logging
import SwerveTesting
import Synchronization
import Testing

@testable import SwerveCore
@testable import SwerveGRPC

/// The gRPC service handlers over a fake backend, called directly (no sockets, no ONNX Runtime).
struct KServeGRPCServiceTests {
    /// Runs `body` with the service and health service over a started server with `models`.
    func withService(
        _ models: [String: FakeBackend.FakeModel], start: Bool = true,
        _ body: (KServeGRPCService, HealthService) async throws -> Void
    ) async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        for name in models.keys { try repo.addModel(name) }
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: models),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        let server = InferenceServer(manager: manager)
        if start { try await server.start() }
        try await body(KServeGRPCService(server: server, streamWindow: 4, drain: DrainSignal()), HealthService(server: server))
        await manager.shutdown()
    }

    let context = ServerContext(
        descriptor: MethodDescriptor(fullyQualifiedService: "inference.GRPCInferenceService", method: "Test"),
        remotePeer: "test", localPeer: "test", cancellation: ServerContext.RPCCancellationHandle())

    func fp32Request(_ model: String, _ values: [Float], id: String = "") -> Inference_ModelInferRequest {
        .with {
            $0.modelName = model
            $0.id = id
            $0.inputs = [.with { $0.name = "x"; $0.datatype = "FP32"; $0.shape = [1, Int64(values.count)] }]
            $0.rawInputContents = [Data(values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })]
        }
    }

    /// Health, readiness and metadata answer from the core; unknown models are simply not ready.
    @Test func healthAndMetadataAnswer() async throws {
        try await withService(["m": .identity(.fp32, shape: [-1, 4])]) { service, health async throws in
            #expect(try await service.serverLive(request: .init(), context: context).live)
            #expect(try await service.serverReady(request: .init(), context: context).ready)
            #expect(try await service.modelReady(request: .with { $0.name = "m" }, context: context).ready)
            #expect(try await !service.modelReady(request: .with { $0.name = "nope" }, context: context).ready)
            let metadata = try await service.modelMetadata(request: .with { $0.name = "m" }, context: context)
            #expect(metadata.versions == ["1"])
            #expect(metadata.inputs.map(\.datatype) == ["FP32"])
            #expect(metadata.inputs.first?.shape == [-1, 4])
            #expect(try await health.check(request: .init(), context: context).status == .serving)
        }
    }

    /// Before the models are loaded the server is live but neither ready nor SERVING.
    @Test func notServingBeforeLoading() async throws {
        try await withService(["m": .identity()], start: false) { service, health async throws in
            #expect(try await service.serverLive(request: .init(), context: context).live)
            #expect(try await !service.serverReady(request: .init(), context: context).ready)
            #expect(try await health.check(request: .init(), context: context).status == .notServing)
            await #expect(throws: RPCError.self) { try await health.check(request: .with { $0.service = "other" }, context: context) }
        }
    }

    /// Unknown models are NOT_FOUND and malformed requests INVALID_ARGUMENT, with the core's message.
    @Test func errorsCarryTheMappedStatus() async throws {
        try await withService(["m": .identity(.fp32, shape: [-1, 4])]) { service, _ async throws in
            let unknown = await #expect(throws: RPCError.self) {
                try await service.modelInfer(request: fp32Request("nope", [1, 2, 3, 4]), context: context)
            }
            #expect(unknown?.code == .notFound)
            let malformed = await #expect(throws: RPCError.self) {
                try await service.modelInfer(request: fp32Request("m", [1, 2, 3]), context: context)
            }
            #expect(malformed?.code == .invalidArgument)
            #expect(malformed?.message.contains("shape") == true)
            let config = await #expect(throws: RPCError.self) {
                try await service.modelConfig(request: .with { $0.name = "nope" }, context: context)
            }
            #expect(config?.code == .notFound)
        }
    }

    /// An inference round trip returns the outputs raw and echoes the id.
    @Test func inferenceRoundTrips() async throws {
        try await withService(["m": .identity(.fp32, shape: [-1, 4])]) { service, _ async throws in
            let request = fp32Request("m", [1, -2, 3.5, 0], id: "abc")
            let response = try await service.modelInfer(request: request, context: context)
            #expect(response.id == "abc")
            #expect(response.modelVersion == "1")
            #expect(response.outputs.map(\.name) == ["y"])
            #expect(response.rawOutputContents == request.rawInputContents)
        }
    }

    /// A failing request in a stream is answered with error_message, and the stream goes on in order.
    @Test func streamReportsErrorsInStreamAndStaysOpen() async throws {
        try await withService(["m": .identity(.fp32, shape: [-1, 4])]) { service, _ async throws in
            let requests: [Inference_ModelInferRequest] = (0..<20).map { (index: Int) -> Inference_ModelInferRequest in
                let values: [Float] = index % 5 == 4 ? [1] : [Float(index), 0, 0, 0]
                return fp32Request("m", values, id: String(index))
            }
            let writer = CollectingWriter<Inference_ModelStreamInferResponse>()
            try await service.modelStreamInfer(
                request: RPCAsyncSequence(wrapping: AsyncThrowingStream { continuation in
                    for request in requests { continuation.yield(request) }
                    continuation.finish()
                }),
                response: RPCWriter(wrapping: writer), context: context)
            let responses = writer.elements
            #expect(responses.count == 20)
            for (index, response) in responses.enumerated() {
                if index % 5 == 4 {
                    #expect(!response.errorMessage.isEmpty)
                    #expect(!response.hasInferResponse)
                } else {
                    #expect(response.errorMessage.isEmpty)
                    #expect(response.inferResponse.id == String(index))
                }
            }
        }
    }

    /// Repository calls with a repository name are UNIMPLEMENTED; load and unload need explicit mode.
    @Test func repositoryCallsFollowTriton() async throws {
        try await withService(["m": .identity()]) { service, _ async throws in
            let index = try await service.repositoryIndex(request: .init(), context: context)
            #expect(index.models.map(\.name) == ["m"])
            #expect(index.models.first?.state == "READY")
            let named = await #expect(throws: RPCError.self) {
                try await service.repositoryIndex(request: .with { $0.repositoryName = "other" }, context: context)
            }
            #expect(named?.code == .unimplemented)
            let load = await #expect(throws: RPCError.self) {
                try await service.repositoryModelLoad(request: .with { $0.modelName = "m" }, context: context)
            }
            #expect(load?.code == .invalidArgument)
        }
    }

    /// Load parameters become the core's override: config as JSON text, file: entries as bytes.
    @Test func loadParametersBecomeAnOverride() throws {
        let override = try #require(try ModelOverride.parse(KServeGRPCService.overrideParameters([
            "config": .with { $0.stringParam = #"{"max_batch_size":2}"# },
            "file:1/model.onnx": .with { $0.bytesParam = Data([1, 2, 3]) },
        ])))
        #expect(override.config?.config.maxBatchSize == 2)
        #expect(override.config?.explicitFields == ["max_batch_size"])
        #expect(override.files == ["1/model.onnx": [1, 2, 3]])
        #expect(try ModelOverride.parse(KServeGRPCService.overrideParameters([:])) == nil)
        let wrongKind = KServeGRPCService.overrideParameters(["config": .with { $0.bytesParam = Data() }])
        #expect(throws: SwerveError.self) { try ModelOverride.parse(wrongKind) }
    }

    /// Shared memory answers as Triton without the feature; settings are readable, not writable.
    @Test func sharedMemoryAndSettingsAnswerLikeTriton() async throws {
        try await withService(["m": .identity()]) { service, _ async throws in
            #expect(try await service.systemSharedMemoryStatus(request: .init(), context: context).regions.isEmpty)
            #expect(try await service.cudaSharedMemoryStatus(request: .init(), context: context).regions.isEmpty)
            _ = try await service.systemSharedMemoryUnregister(request: .init(), context: context)
            _ = try await service.cudaSharedMemoryUnregister(request: .init(), context: context)
            let register = await #expect(throws: RPCError.self) {
                try await service.systemSharedMemoryRegister(request: .with { $0.name = "r" }, context: context)
            }
            #expect(register?.code == .unimplemented)
            let trace = try await service.traceSetting(request: .init(), context: context)
            #expect(trace.settings["trace_level"]?.value == ["OFF"])
            let log = try await service.logSettings(request: .init(), context: context)
            #expect(log.settings["log_verbose_level"]?.uint32Param == 0)
            let change = await #expect(throws: RPCError.self) {
                try await service.logSettings(request: .with { $0.settings["log_info"] = .with { $0.boolParam = false } }, context: context)
            }
            #expect(change?.code == .unimplemented)
        }
    }

    /// Cancelling the RPC of a queued request removes it from the queue: it fails as cancelled and never runs.
    @Test func cancellingTheRPCCancelsTheQueuedRequest() async throws {
        let gate = GatedModel(shape: [-1, 1])
        defer { gate.open() }
        try await withService(["slow": gate.model]) { service, _ async throws in
            let pool = try service.server.manager.resolve("slow", version: nil).pool
            gate.close()
            let first = Task { try await service.modelInfer(request: fp32Request("slow", [1]).reshaped([1, 1]), context: context) }
            try await waitUntil("the first request holds the only instance") { gate.heldCount == 1 }
            let handle = Mutex<ServerContext.RPCCancellationHandle?>(nil)
            let second = Task {
                // As the server does: the handle is in the task-local the handler reads, and in the context.
                try await withServerContextRPCCancellationHandle { rpc in
                    handle.withLock { $0 = rpc }
                    let cancellable = ServerContext(
                        descriptor: context.descriptor, remotePeer: "test", localPeer: "test", cancellation: rpc)
                    return try await service.modelInfer(request: fp32Request("slow", [2]).reshaped([1, 1]), context: cancellable)
                }
            }
            try await waitUntil("the second request is queued") { pool.queuedCount == 1 }
            try #require(handle.withLock { $0 }).cancel()
            let error = await #expect(throws: RPCError.self) { try await second.value }
            #expect(error?.code == .cancelled)
            #expect(pool.queuedCount == 0, "the cancelled request left the queue")
            gate.open()
            _ = try await first.value
            // The queue was empty when the instance freed: nothing else can have run.
            #expect(gate.runCount == 2, "the warm-up run at load and the first request; the cancelled one never ran")
            #expect(gate.batchSizes == [1, 1])
        }
    }
}

extension Inference_ModelInferRequest {
    /// A copy whose first input has `shape`.
    func reshaped(_ shape: [Int64]) -> Self {
        var copy = self
        copy.inputs[0].shape = shape
        return copy
    }
}

/// An RPC writer that keeps what is written.
final class CollectingWriter<Element: Sendable>: RPCWriterProtocol {
    private let stored = Mutex<[Element]>([])
    var elements: [Element] { stored.withLock { $0 } }

    func write(_ element: Element) async throws {
        stored.withLock { $0.append(element) }
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await write(element) }
    }
}
