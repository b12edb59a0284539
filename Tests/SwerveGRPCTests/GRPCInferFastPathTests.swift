import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Logging
import NIOHPACK
import NIOPosix
import SwerveTesting
import Testing

@testable import SwerveCore
@testable import SwerveGRPC

/// ``GRPCInferFastPath`` over the frontend's real HTTP/2 transport and grpc-swift's client: what it
/// takes, what it leaves to grpc-swift, and that its answers are the service's.
struct GRPCInferFastPathTests {
    typealias ModelInfer = Inference_GRPCInferenceService.Method.ModelInfer

    /// The outcome of one call, as a client sees it.
    enum Outcome: Equatable {
        case answered(Inference_ModelInferResponse)
        case failed(RPCError.Code, String, retryAfter: [String])

        init(_ body: () async throws -> Inference_ModelInferResponse) async {
            do {
                self = .answered(try await body())
            } catch let error as RPCError {
                self = .failed(error.code, error.message, retryAfter: Array(error.metadata[stringValues: "retry-after"]))
            } catch {
                self = .failed(.unknown, "\(error)", retryAfter: [])
            }
        }
    }

    /// Runs `body` with a client of a gRPC server over the frontend's transport on a free port:
    /// model `m` (identity, fp32 `[-1, 4]`) and `slow` (the same, 300 ms a run). `services` false
    /// serves only the health service, so only the fast path can answer inference.
    func withClient(
        fastPath: Bool, services: Bool = true,
        _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Void
    ) async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m")
        try repo.addModel("slow")
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root),
            backend: FakeBackend(models: ["m": .identity(), "slow": .identity(delay: 0.3)]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        let server = InferenceServer(manager: manager, controlMode: .explicit, startupModels: ["m", "slow"])
        try await server.start()
        // The process's shared loops: a loop group shut down at the end of a test would refuse the
        // last jobs of tasks that finish after the server returns.
        let eventLoops = MultiThreadedEventLoopGroup.singleton
        let options = GRPCFrontendOptions(address: "127.0.0.1", port: 0, inferFastPath: fastPath)
        let transport = try GRPCFrontend.makeTransport(
            server: server, options: options, eventLoops: eventLoops, connectionCount: GRPCConnectionCount(maxConnections: 100))
        let drain = DrainSignal()
        let grpcServer = services
            ? GRPCFrontend.makeServer(transport: transport, server: server, options: options, drain: drain)
            : GRPCServer(transport: transport, services: [HealthService(server: server)])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask(executorPreference: EventLoopGroupTaskExecutor.of(eventLoops)) { try await grpcServer.serve() }
            let port = try #require(try await transport.listeningAddress.ipv4?.port)
            try await withGRPCClient(
                transport: .http2NIOPosix(
                    target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext,
                    config: .defaults { $0.compression.enabledAlgorithms = .all })
            ) { client in
                try await body(client)
            }
            grpcServer.beginGracefulShutdown()
        }
        await manager.shutdown()
    }

    /// A request to model `model` with one fp32 input of `count` values.
    static func request(model: String = "m", version: String = "", input: String = "x", datatype: String = "FP32", count: Int = 4) -> Inference_ModelInferRequest {
        .with {
            $0.modelName = model
            $0.modelVersion = version
            $0.id = "req-7"
            $0.inputs = [.with {
                $0.name = input
                $0.datatype = datatype
                $0.shape = [1, Int64(count)]
            }]
            $0.rawInputContents = [Data((0..<count * 4).map { UInt8(truncatingIfNeeded: $0) })]
        }
    }

    /// Call options with a timeout.
    static func timeout(_ duration: Duration) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = duration
        return options
    }

    /// Sends `bytes` as the one message of a ModelInfer call.
    static func raw(_ client: GRPCClient<HTTP2ClientTransport.Posix>, _ bytes: [UInt8], options: CallOptions = .defaults) async throws -> Inference_ModelInferResponse {
        try await client.unary(
            request: ClientRequest(message: bytes), descriptor: ModelInfer.descriptor, serializer: RawSerializer(),
            deserializer: ProtobufDeserializer<Inference_ModelInferResponse>(), options: options
        ) { try $0.message }
    }

    /// Sends `messages` as the messages of one ModelInfer call.
    static func several(_ client: GRPCClient<HTTP2ClientTransport.Posix>, _ messages: [Inference_ModelInferRequest]) async throws -> Inference_ModelInferResponse {
        try await client.clientStreaming(
            request: StreamingClientRequest { writer in try await writer.write(contentsOf: messages) },
            descriptor: ModelInfer.descriptor, serializer: ProtobufSerializer<Inference_ModelInferRequest>(),
            deserializer: ProtobufDeserializer<Inference_ModelInferResponse>(), options: .defaults
        ) { try $0.message }
    }

    /// The outcomes of a set of calls: answers and each kind of failure a client can cause.
    static func outcomes(_ client: GRPCClient<HTTP2ClientTransport.Posix>) async throws -> [Outcome] {
        let service = Inference_GRPCInferenceService.Client(wrapping: client)
        var outcomes: [Outcome] = []
        for message in [
            request(), request(version: "1"), request(count: 12), request(model: "absent"), request(version: "9"),
            request(version: "x1"), request(input: "nope"), request(datatype: "FP64"), request(datatype: "WHAT"),
            request(count: 5000),  // 20 KB: grpc-swift's path, in both servers
        ] {
            outcomes.append(await Outcome { try await service.modelInfer(message) })
        }
        outcomes.append(await Outcome { try await service.modelInfer(request(), options: Self.timeout(.seconds(30))) })
        outcomes.append(await Outcome { try await raw(client, [0x0a, 0xff, 0x01]) })
        outcomes.append(await Outcome { try await several(client, [request(), request()]) })
        return outcomes
    }

    /// The same calls get the same answers, statuses and messages with the fast path as without.
    @Test func fastPathAnswersAsTheServiceDoes() async throws {
        var with: [Outcome] = []
        var without: [Outcome] = []
        try await withClient(fastPath: true) { with = try await Self.outcomes($0) }
        try await withClient(fastPath: false) { without = try await Self.outcomes($0) }
        #expect(with.count == 13)
        for (index, (a, b)) in zip(with, without).enumerated() {
            #expect(a == b, "call \(index)")
        }
        guard case .answered(let first) = with[0] else { Issue.record("the plain call failed: \(with[0])"); return }
        #expect(first.modelName == "m" && first.id == "req-7" && first.outputs.map(\.name) == ["y"])
        #expect(first.rawOutputContents == Self.request().rawInputContents)
        guard case .failed(let code, _, _) = with[3] else { Issue.record("an unknown model was answered"); return }
        #expect(code == .notFound)
        guard case .failed(let undecodable, _, _) = with[11], case .failed(let twice, let message, _) = with[12] else {
            Issue.record("bad messages were answered"); return
        }
        #expect(undecodable == .invalidArgument)
        #expect(twice == .internalError && message == "Too many messages.")
    }

    /// With no inference service registered, small plain ModelInfer calls are still answered (by
    /// the fast path alone), and what it does not take reaches grpc-swift, which knows no such
    /// method: a message over 16 KB, a compressed one.
    @Test func fastPathTakesOnlySmallPlainCalls() async throws {
        try await withClient(fastPath: true, services: false) { client in
            let service = Inference_GRPCInferenceService.Client(wrapping: client)
            let answer = try await service.modelInfer(Self.request())
            #expect(answer.rawOutputContents == Self.request().rawInputContents)
            let timed = try await service.modelInfer(Self.request(), options: Self.timeout(.seconds(30)))
            #expect(timed.rawOutputContents == Self.request().rawInputContents)
            let large = await #expect(throws: RPCError.self) { try await service.modelInfer(Self.request(count: 5000)) }
            #expect(large?.code == .unimplemented)
            var compressed = CallOptions.defaults
            compressed.compression = .gzip
            let gzip = await #expect(throws: RPCError.self) { try await service.modelInfer(Self.request(), options: compressed) }
            #expect(gzip?.code == .unimplemented)
        }
    }

    /// A call whose deadline passes while its request waits in the queue ends with
    /// DEADLINE_EXCEEDED, and the request never runs; the same with the fast path as without.
    @Test(arguments: [true, false]) func aPassedDeadlineEndsTheCallWithDeadlineExceeded(fastPath: Bool) async throws {
        try await withClient(fastPath: fastPath) { client in
            let service = Inference_GRPCInferenceService.Client(wrapping: client)
            try await withThrowingTaskGroup { group in
                // Holds the one instance of `slow` for 300 ms.
                group.addTask { _ = try await service.modelInfer(Self.request(model: "slow")) }
                try await Task.sleep(for: .milliseconds(50))
                let late = await #expect(throws: RPCError.self) {
                    try await service.modelInfer(Self.request(model: "slow"), options: Self.timeout(.milliseconds(20)))
                }
                #expect(late?.code == .deadlineExceeded)
                try await group.waitForAll()
            }
        }
    }

    /// The headers the fast path takes a call by.
    @Test func plainInferCallsAreRecognisedByTheirHeaders() {
        func headers(_ extra: [(String, String)] = [], path: String = GRPCInferFastPath.path, method: String = "POST",
                     contentType: String = "application/grpc") -> HPACKHeaders {
            HPACKHeaders([(":method", method), (":path", path), ("content-type", contentType), ("te", "trailers")] + extra)
        }
        #expect(GRPCInferFastPath.plainInferCall(headers()) != nil)
        #expect(GRPCInferFastPath.plainInferCall(headers(contentType: "application/grpc+proto")) != nil)
        #expect(GRPCInferFastPath.plainInferCall(headers([("grpc-encoding", "identity")])) != nil)
        #expect(GRPCInferFastPath.plainInferCall(headers([("grpc-encoding", "gzip")])) == nil)
        #expect(GRPCInferFastPath.plainInferCall(headers(path: "/inference.GRPCInferenceService/ModelStreamInfer")) == nil)
        #expect(GRPCInferFastPath.plainInferCall(headers(method: "GET")) == nil)
        #expect(GRPCInferFastPath.plainInferCall(headers(contentType: "application/grpc+json")) == nil)
        #expect(GRPCInferFastPath.plainInferCall(headers([("grpc-timeout", "250m")]))?.timeout == .milliseconds(250))
        #expect(GRPCInferFastPath.plainInferCall(headers([("grpc-timeout", "-1S")]))?.timeout == .zero)
        let malformed = GRPCInferFastPath.plainInferCall(headers([("grpc-timeout", "1x")]))
        #expect(malformed != nil && malformed?.timeout == nil)
    }

    /// gRPC's percent-encoding of `grpc-message`: printable ASCII but `%` as it is.
    @Test func statusMessagesArePercentEncoded() {
        #expect(RPCError.percentEncoded("input 'x': bad") == "input 'x': bad")
        #expect(RPCError.percentEncoded("100% é\n") == "100%25 %C3%A9%0A")
    }
}

/// Sends a message's bytes as they are.
struct RawSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}
