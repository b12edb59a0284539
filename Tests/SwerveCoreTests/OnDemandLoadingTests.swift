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

    /// Runs `body` with a started lazy server over a temporary repository that `setUp` fills (by
    /// default: each model in version 1, no configuration), then shuts the server down.
    func withLazyServer(
        _ models: [String: FakeBackend.FakeModel], pinned: [String] = [], budget: Int? = nil,
        setUp: ((TemporaryRepository) throws -> Void)? = nil,
        _ body: (InferenceServer, FakeBackend, TemporaryRepository) async throws -> Void
    ) async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        if let setUp {
            try setUp(repo)
        } else {
            for name in models.keys { try repo.addModel(name) }
        }
        let backend = FakeBackend(models: models)
        let server = lazyServer(repo, backend, pinned: pinned, budget: budget)
        try await server.start()
        do {
            try await body(server, backend, repo)
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }

    func request(_ model: String, version: Int? = nil, values: [Float] = [1, 2, 3, 4]) -> InferenceRequest {
        let data = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        return InferenceRequest(
            modelName: model, modelVersion: version,
            inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, values.count], data: data))])
    }

    /// Start-up indexes every model and loads none; the server is ready at once.
    @Test func startIndexesWithoutLoading() async throws {
        try await withLazyServer(["a": .identity(), "b": .identity(), "c": .identity()], setUp: { repo in
            for name in ["a", "b", "c"] { try repo.addModel(name, versions: [1, 2]) }
        }) { server, backend, repo in
            #expect(backend.loadCount.load(ordering: .relaxed) == 0)
            #expect(server.isReady)
            let states = server.modelStatuses()
            #expect(states.count == 3, "the default version policy serves the latest version only")
            #expect(states.allSatisfy { $0.state == .notLoaded })
            let index = server.repositoryIndex(readyOnly: false)
            #expect(index.allSatisfy { $0.state == "UNAVAILABLE" && $0.reason == "not loaded" })
        }
    }

    /// The first request loads the version it goes to (the highest by default) and is answered;
    /// the other version stays unloaded.
    @Test func firstRequestLoadsItsVersion() async throws {
        try await withLazyServer(["m": .identity()], setUp: { repo in
            try repo.addModel("m", versions: [1, 2], config: "version_policy: { all: {} }")
        }) { server, backend, repo in
            let response = try await server.infer(request("m"))
            #expect(response.modelVersion == 2)
            #expect(response.outputs.first?.tensor == request("m").inputs[0].tensor)
            #expect(backend.loadCount.load(ordering: .relaxed) == 1)
            #expect(server.modelStatuses(model: "m").map(\.state) == [.notLoaded, .ready])
            #expect(try await server.infer(request("m", version: 1)).modelVersion == 1)
            #expect(backend.loadCount.load(ordering: .relaxed) == 2)
        }
    }

    /// Sixteen requests arriving while a version loads all wait on that one load.
    @Test func concurrentFirstRequestsShareOneLoad() async throws {
        try await withLazyServer(["slow": .identity(delay: 0).withLoadDelay(0.2)]) { server, backend, repo in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<16 { group.addTask { try await server.infer(self.request("slow")).modelVersion } }
                for try await version in group { #expect(version == 1) }
            }
            #expect(backend.loadCount.load(ordering: .relaxed) == 1)
        }
    }

    /// Readiness answers from the index: false before the first request, true after, and asking
    /// loads nothing. A model the repository lacks is not found.
    @Test func readinessAnswersWithoutLoading() async throws {
        try await withLazyServer(["m": .identity()]) { server, backend, repo in
            #expect(try await server.isModelReady("m", version: nil) == false)
            #expect(backend.loadCount.load(ordering: .relaxed) == 0)
            _ = try await server.infer(request("m"))
            #expect(try await server.isModelReady("m", version: nil) == true)
            let missing = await #expect(throws: SwerveError.self) { try await server.isModelReady("nope", version: nil) }
            #expect(missing?.code == .notFound)
        }
    }

    /// A model written into the repository after the start answers its first request, found on
    /// the miss; one whose folder is gone is not found and leaves the index.
    @Test func repositoryChangesAreFoundOnAMiss() async throws {
        try await withLazyServer(["old": .identity(), "new": .identity()], setUp: { repo in
            try repo.addModel("old")
        }) { server, backend, repo in
            try repo.addModel("new")
            #expect(try await server.infer(request("new")).modelName == "new")

            try FileManager.default.removeItem(atPath: repo.root + "/old")
            let gone = await #expect(throws: SwerveError.self) { try await server.infer(request("old")) }
            #expect(gone?.code == .notFound)
            #expect(server.modelStatuses(model: "old").isEmpty)
        }
    }

    /// Models named at start and models whose configuration pins them load at start; the others wait.
    @Test func pinnedModelsLoadAtStart() async throws {
        try await withLazyServer(["named": .identity(), "configured": .identity(), "other": .identity()], pinned: ["named"], setUp: { repo in
            try repo.addModel("named")
            try repo.addModel("configured", config: "parameters: { key: \"pinned\" value: { string_value: \"true\" } }")
            try repo.addModel("other")
        }) { server, backend, repo in
            #expect(server.readyVersions("named") == [1])
            #expect(server.readyVersions("configured") == [1])
            #expect(server.readyVersions("other") == [])
        }
    }

    /// Metadata of a version never loaded loads it (only the runtime can read a model file's
    /// inputs); after it is evicted, metadata answers from what it declared, without loading.
    @Test func metadataOfAnEvictedVersionAnswersWithoutLoading() async throws {
        try await withLazyServer(["a": .identity().taking(100), "b": .identity().taking(100)], budget: 150) { server, backend, repo in
            #expect(try await server.metadata(model: "a", version: nil).inputs.map(\.name) == ["x"])
            #expect(backend.loadCount.load(ordering: .relaxed) == 1)
            _ = try await server.infer(request("b"))
            #expect(server.modelStatuses(model: "a").map(\.state) == [.evicted])
            #expect(try await server.metadata(model: "a", version: nil).outputs.map(\.name) == ["y"])
            #expect(try await server.config(model: "a", version: 1).name == "a")
            #expect(backend.loadCount.load(ordering: .relaxed) == 2)
        }
    }

    /// Lazy mode allows the repository API's loads and unloads; an unloaded model loads again on
    /// its next request.
    @Test func unloadedModelLoadsAgainOnItsNextRequest() async throws {
        try await withLazyServer(["m": .identity()]) { server, backend, repo in
            try await server.loadModel("m")
            #expect(server.readyVersions("m") == [1])
            try await server.unloadModel("m")
            #expect(server.readyVersions("m") == [])
            #expect(try await server.infer(request("m")).modelVersion == 1)
            #expect(backend.loadCount.load(ordering: .relaxed) == 2)
        }
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
