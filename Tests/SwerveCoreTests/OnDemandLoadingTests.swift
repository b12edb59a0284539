import Foundation
import Logging
import Synchronization
import Testing

@testable import SwerveCore
import SwerveTesting

/// Lazy mode (`--model-control-mode lazy`): the repository is indexed at start and each version
/// loads on its first request.
struct OnDemandLoadingTests {
    /// A lazy server over `repo` with the fake `models`.
    func lazyServer(
        _ repo: TemporaryRepository, _ backend: FakeBackend, pinned: [String] = [], budget: Int? = nil
    ) -> InferenceServer {
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: backend,
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2, memoryBudget: budget, allocatedBytes: backend.allocatedBytes),
            logger: Logger(label: "test"))
        return InferenceServer(manager: manager, controlMode: .lazy, startupModels: pinned)
    }

    func request(_ model: String, version: Int? = nil, values: [Float] = [1, 2, 3, 4]) -> InferenceRequest {
        let data = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        return InferenceRequest(
            modelName: model, modelVersion: version,
            inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, values.count], data: data))])
    }

    /// Start-up indexes every model and loads none; the server is ready at once.
    @Test func startIndexesWithoutLoading() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        for name in ["a", "b", "c"] { try repo.addModel(name, versions: [1, 2]) }
        let backend = FakeBackend(models: ["a": .identity(), "b": .identity(), "c": .identity()])
        let server = lazyServer(repo, backend)
        try await server.start()
        #expect(backend.loadCount.load(ordering: .relaxed) == 0)
        #expect(server.isReady)
        let states = server.modelStatuses()
        #expect(states.count == 3, "the default version policy serves the latest version only")
        #expect(states.allSatisfy { $0.state == .notLoaded })
        let index = server.repositoryIndex(readyOnly: false)
        #expect(index.allSatisfy { $0.state == "UNAVAILABLE" && $0.reason == "not loaded" })
        await server.shutdown()
    }

    /// The first request loads the version it goes to (the highest by default) and is answered;
    /// the other version stays unloaded.
    @Test func firstRequestLoadsItsVersion() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", versions: [1, 2], config: "version_policy: { all: {} }")
        let backend = FakeBackend(models: ["m": .identity()])
        let server = lazyServer(repo, backend)
        try await server.start()
        let response = try await server.infer(request("m"))
        #expect(response.modelVersion == 2)
        #expect(response.outputs.first?.tensor == request("m").inputs[0].tensor)
        #expect(backend.loadCount.load(ordering: .relaxed) == 1)
        #expect(server.modelStatuses(model: "m").map(\.state) == [.notLoaded, .ready])
        #expect(try await server.infer(request("m", version: 1)).modelVersion == 1)
        #expect(backend.loadCount.load(ordering: .relaxed) == 2)
        await server.shutdown()
    }

    /// Sixteen requests arriving while a version loads all wait on that one load.
    @Test func concurrentFirstRequestsShareOneLoad() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("slow")
        let backend = FakeBackend(models: ["slow": .identity(delay: 0).withLoadDelay(0.2)])
        let server = lazyServer(repo, backend)
        try await server.start()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 { group.addTask { try await server.infer(self.request("slow")).modelVersion } }
            for try await version in group { #expect(version == 1) }
        }
        #expect(backend.loadCount.load(ordering: .relaxed) == 1)
        await server.shutdown()
    }

    /// Readiness answers from the index: false before the first request, true after, and asking
    /// loads nothing. A model the repository lacks is not found.
    @Test func readinessAnswersWithoutLoading() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m")
        let backend = FakeBackend(models: ["m": .identity()])
        let server = lazyServer(repo, backend)
        try await server.start()
        #expect(try await server.isModelReady("m", version: nil) == false)
        #expect(backend.loadCount.load(ordering: .relaxed) == 0)
        _ = try await server.infer(request("m"))
        #expect(try await server.isModelReady("m", version: nil) == true)
        let missing = await #expect(throws: SwerveError.self) { try await server.isModelReady("nope", version: nil) }
        #expect(missing?.code == .notFound)
        await server.shutdown()
    }

    /// A model written into the repository after the start answers its first request, found on
    /// the miss; one whose folder is gone is not found and leaves the index.
    @Test func repositoryChangesAreFoundOnAMiss() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("old")
        let backend = FakeBackend(models: ["old": .identity(), "new": .identity()])
        let server = lazyServer(repo, backend)
        try await server.start()
        try repo.addModel("new")
        #expect(try await server.infer(request("new")).modelName == "new")

        try FileManager.default.removeItem(atPath: repo.root + "/old")
        let gone = await #expect(throws: SwerveError.self) { try await server.infer(request("old")) }
        #expect(gone?.code == .notFound)
        #expect(server.modelStatuses(model: "old").isEmpty)
        await server.shutdown()
    }

    /// Models named at start and models whose configuration pins them load at start; the others wait.
    @Test func pinnedModelsLoadAtStart() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("named")
        try repo.addModel("configured", config: "parameters: { key: \"pinned\" value: { string_value: \"true\" } }")
        try repo.addModel("other")
        let backend = FakeBackend(models: ["named": .identity(), "configured": .identity(), "other": .identity()])
        let server = lazyServer(repo, backend, pinned: ["named"])
        try await server.start()
        #expect(server.readyVersions("named") == [1])
        #expect(server.readyVersions("configured") == [1])
        #expect(server.readyVersions("other") == [])
        await server.shutdown()
    }

    /// Metadata of a version never loaded loads it (only the runtime can read a model file's
    /// inputs); after it is evicted, metadata answers from what it declared, without loading.
    @Test func metadataOfAnEvictedVersionAnswersWithoutLoading() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("a")
        try repo.addModel("b")
        let backend = FakeBackend(models: ["a": .identity().taking(100), "b": .identity().taking(100)])
        let server = lazyServer(repo, backend, budget: 150)
        try await server.start()
        #expect(try await server.metadata(model: "a", version: nil).inputs.map(\.name) == ["x"])
        #expect(backend.loadCount.load(ordering: .relaxed) == 1)
        _ = try await server.infer(request("b"))
        #expect(server.modelStatuses(model: "a").map(\.state) == [.evicted])
        #expect(try await server.metadata(model: "a", version: nil).outputs.map(\.name) == ["y"])
        #expect(try await server.config(model: "a", version: 1).name == "a")
        #expect(backend.loadCount.load(ordering: .relaxed) == 2)
        await server.shutdown()
    }

    /// Lazy mode allows the repository API's loads and unloads; an unloaded model loads again on
    /// its next request.
    @Test func unloadedModelLoadsAgainOnItsNextRequest() async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m")
        let backend = FakeBackend(models: ["m": .identity()])
        let server = lazyServer(repo, backend)
        try await server.start()
        try await server.loadModel("m")
        #expect(server.readyVersions("m") == [1])
        try await server.unloadModel("m")
        #expect(server.readyVersions("m") == [])
        #expect(try await server.infer(request("m")).modelVersion == 1)
        #expect(backend.loadCount.load(ordering: .relaxed) == 2)
        await server.shutdown()
    }
}

extension FakeBackend.FakeModel {
    /// The same model taking `seconds` to load.
    func withLoadDelay(_ seconds: Double) -> Self {
        var model = self
        model.loadDelay = seconds
        return model
    }

    /// The same model whose instances count `bytes` as allocated while they live.
    func taking(_ bytes: Int) -> Self {
        var model = self
        model.memoryBytes = bytes
        return model
    }
}
