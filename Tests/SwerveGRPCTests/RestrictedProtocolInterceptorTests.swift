import GRPCCore
import GRPCInProcessTransport
import Logging
import SwerveTesting
import Testing

@testable import SwerveCore
@testable import SwerveGRPC

/// `--grpc-restricted-protocol` over a real gRPC server and client (in-process transport): the
/// frontend's own server, services and interceptors.
struct RestrictedProtocolInterceptorTests {
    /// Runs `body` with a client of the frontend's gRPC server over a fake model `m`, restricting
    /// the categories `specs` name.
    func withClient(
        restricting specs: [String],
        _ body: (Inference_GRPCInferenceService.Client<InProcessTransport.Client>, Grpc_Health_V1_Health.Client<InProcessTransport.Client>) async throws -> Void
    ) async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m")
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["m": .identity()]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        let server = InferenceServer(manager: manager, controlMode: .explicit, startupModels: ["m"])
        try await server.start()
        let restrictions = try RestrictedFeatures(
            RestrictionSpec.parse(specs, flag: .grpcRestrictedProtocol), flag: .grpcRestrictedProtocol, environment: [:])
        let transport = InProcessTransport()
        let grpcServer = GRPCFrontend.makeServer(
            transport: transport.server, server: server, options: GRPCFrontendOptions(restrictions: restrictions), drain: DrainSignal())
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await grpcServer.serve() }
            try await withGRPCClient(transport: transport.client) { client in
                try await body(Inference_GRPCInferenceService.Client(wrapping: client), Grpc_Health_V1_Health.Client(wrapping: client))
            }
            grpcServer.beginGracefulShutdown()
        }
        await manager.shutdown()
    }

    /// Every method the frontend registers has a category; a method without one would be refused
    /// whenever any category is restricted.
    @Test func everyRegisteredMethodHasACategory() throws {
        var router = RPCRouter<InProcessTransport.Server>()
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: [:]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        for service in GRPCFrontend.services(server: InferenceServer(manager: manager), options: GRPCFrontendOptions(), drain: DrainSignal()) {
            service.registerMethods(with: &router)
        }
        #expect(router.methods.count == Inference_GRPCInferenceService.Method.descriptors.count + Grpc_Health_V1_Health.Method.descriptors.count)
        for method in router.methods {
            #expect(GRPCMethodCategories.byMethod[method] != nil, "\(method.fullyQualifiedMethod) has no category")
        }
        #expect(GRPCMethodCategories.byMethod.count == router.methods.count)
    }

    /// A restricted model-repository refuses load and unload with PERMISSION_DENIED naming the
    /// header, runs them with the key, and leaves inference and health open.
    @Test func restrictedRepositoryCallsNeedTheKey() async throws {
        try await withClient(restricting: ["model-repository:admin-key=s3cret"]) { client, health in
            let error = await #expect(throws: RPCError.self) {
                try await client.repositoryModelUnload(.with { $0.modelName = "m" })
            }
            #expect(error?.code == .permissionDenied)
            #expect(error?.message == "This protocol is restricted, expecting header 'triton-grpc-protocol-admin-key'")
            let wrong = await #expect(throws: RPCError.self) {
                try await client.repositoryIndex(.init(), metadata: ["triton-grpc-protocol-admin-key": "s3cre"])
            }
            #expect(wrong?.code == .permissionDenied)
            // Triton's prefix is required: the bare header is not the key.
            await #expect(throws: RPCError.self) { try await client.repositoryIndex(.init(), metadata: ["admin-key": "s3cret"]) }
            let index = try await client.repositoryIndex(.init(), metadata: ["triton-grpc-protocol-admin-key": "s3cret"])
            #expect(index.models.map(\.name) == ["m"])
            #expect(try await client.serverLive(.init()).live)
            #expect(try await health.check(.init()).status == .serving)
            #expect(try await client.modelMetadata(.with { $0.name = "m" }).name == "m")
        }
    }

    /// Restricting health covers the standard health checking protocol too, as in Triton; a
    /// streaming call is checked before its first message.
    @Test func restrictedHealthAndInferenceCoverTheirWholeCategory() async throws {
        try await withClient(restricting: ["health:h=1", "inference:i=2"]) { client, health in
            let checked = await #expect(throws: RPCError.self) { try await health.check(.init()) }
            #expect(checked?.code == .permissionDenied)
            await #expect(throws: RPCError.self) { try await client.serverReady(.init()) }
            let allowed = try await health.check(.init(), metadata: ["triton-grpc-protocol-h": "1"])
            #expect(allowed.status == .serving)
            let stream = await #expect(throws: RPCError.self) {
                try await client.modelStreamInfer(requestProducer: { _ in }, onResponse: { response in
                    for try await _ in response.messages {}
                })
            }
            #expect(stream?.code == .permissionDenied)
            #expect(stream?.message == "This protocol is restricted, expecting header 'triton-grpc-protocol-i'")
            // Model config stays open.
            let config = try await client.modelConfig(.with { $0.name = "m" })
            #expect(config.config.name == "m")
        }
    }
}
