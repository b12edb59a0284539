import Foundation
import Logging
import Synchronization
import Testing

@testable import SwerveCore
import SwerveTesting

/// Lazy mode within `--model-memory-budget`: sizes measured at load, least recently used idle
/// versions evicted, busy and pinned ones kept, versions too large refused. The fake backend's
/// instances count their bytes in a counter the manager reads instead of the process's allocator.
struct MemoryBudgetTests {
    let helper = OnDemandLoadingTests()

    /// Three models of 100 bytes under a budget of 250: loading the third evicts the least
    /// recently used of the other two, and a request to it loads it again.
    @Test func evictsTheLeastRecentlyUsedIdleVersion() async throws {
        let models = Dictionary(uniqueKeysWithValues: ["a", "b", "c"].map { ($0, FakeBackend.FakeModel.identity().taking(100)) })
        try await helper.withLazyServer(models, budget: 250) { server, backend, repo in
            _ = try await server.infer(helper.request("a"))
            _ = try await server.infer(helper.request("b"))
            _ = try await server.infer(helper.request("a"))  // b is now the least recently used
            _ = try await server.infer(helper.request("c"))
            #expect(server.modelStatuses(model: "b").map(\.state) == [.evicted])
            #expect(server.readyVersions("a") == [1])
            #expect(server.readyVersions("c") == [1])
            #expect(server.manager.loadedBytes == 200)
            #expect(backend.allocated.load(ordering: .relaxed) == 200, "the evicted instance was released")
            #expect(server.repositoryIndex(readyOnly: false).first { $0.name == "b" }?.reason == "evicted")

            #expect(try await server.infer(helper.request("b")).modelName == "b")
            #expect(backend.loadCount.load(ordering: .relaxed) == 4)
            #expect(server.manager.loadedBytes <= 250)
        }
    }

    /// A version loaded but not yet ready counts against the budget: loading a model's two
    /// versions through the repository API makes room for both, not only for the one loading.
    @Test func versionsNotYetPublishedCountAgainstTheBudget() async throws {
        try await helper.withLazyServer(["old": .identity().taking(100), "two": .identity().taking(100)], budget: 250, setUp: { repo in
            try repo.addModel("old")
            try repo.addModel("two", versions: [1, 2], config: "version_policy: { all: {} }")
        }) { server, backend, repo in
            _ = try await server.infer(helper.request("old"))
            try await server.manager.load("two")
            #expect(server.readyVersions("two") == [1, 2])
            #expect(server.modelStatuses(model: "old").map(\.state) == [.evicted], "version 2's load made room for version 1 too")
            #expect(server.manager.loadedBytes == 200)
        }
    }

    /// Each version reports the memory its load measured, in its statistics and the index.
    @Test func measuredMemoryIsReported() async throws {
        try await helper.withLazyServer(["m": .identity().taking(12_345)]) { server, backend, repo in
            _ = try await server.infer(helper.request("m"))
            #expect(try server.statistics(model: "m", version: 1).first?.memoryBytes == 12_345)
            #expect(server.repositoryIndex(readyOnly: true).first?.memoryBytes == 12_345)
        }
    }

    /// A version with a request running is never evicted under it: the new load goes over the
    /// budget instead, and both requests are answered.
    @Test func busyVersionIsNotEvicted() async throws {
        let gate = GatedModel()
        // Runs of a millisecond are too slow for the inline path, so the held run blocks one of the
        // pool's executor threads, not one of Swift's two cooperative threads (which parallel
        // tests holding runs of their own could otherwise use up).
        var busy = gate.model.taking(100)
        let gatedRun = busy.run
        busy.run = { inputs, outputs in
            Thread.sleep(forTimeInterval: 0.001)
            return try gatedRun(inputs, outputs)
        }
        try await helper.withLazyServer(["busy": busy, "new": .identity().taking(100)], budget: 150) { server, backend, repo in
            _ = try await server.infer(helper.request("busy"))
            gate.close()
            let held = Task { try await server.infer(helper.request("busy")) }
            try await waitUntil("the busy model runs a request") { gate.heldCount == 1 }
            #expect(try await server.infer(helper.request("new")).modelName == "new")
            #expect(server.readyVersions("busy") == [1])
            gate.open()
            #expect(try await held.value.modelName == "busy")
        }
    }

    /// Pinned versions are never evicted, even when they are the least recently used.
    @Test func pinnedVersionIsNeverEvicted() async throws {
        try await helper.withLazyServer(["pinned": .identity().taking(100), "a": .identity().taking(100), "b": .identity().taking(100)], pinned: ["pinned"], budget: 250) { server, backend, repo in
            _ = try await server.infer(helper.request("a"))
            _ = try await server.infer(helper.request("b"))
            #expect(server.readyVersions("pinned") == [1])
            #expect(server.modelStatuses(model: "a").map(\.state) == [.evicted])
            #expect(backend.loadCount.load(ordering: .relaxed) == 3)
        }
    }

    /// A version larger than the whole budget is refused with insufficientMemory naming the
    /// budget; once measured, the next request is refused without loading it again.
    @Test func versionLargerThanTheBudgetIsRefused() async throws {
        try await helper.withLazyServer(["huge": .identity().taking(1000), "small": .identity().taking(10)], budget: 500) { server, backend, repo in
            let refused = await #expect(throws: SwerveError.self) { try await server.infer(helper.request("huge")) }
            #expect(refused?.code == .insufficientMemory)
            #expect(refused?.message.contains("memory budget of 500 B") == true)
            #expect(backend.allocated.load(ordering: .relaxed) == 0, "the refused version was released")
            let again = await #expect(throws: SwerveError.self) { try await server.infer(helper.request("huge")) }
            #expect(again?.code == .insufficientMemory)
            #expect(backend.loadCount.load(ordering: .relaxed) == 1)
            let small = try await server.infer(helper.request("small"))
            #expect(small.modelName == "small")
        }
    }

    /// Twenty models of 100 bytes under a budget of 500, 400 requests from 8 tasks in a shuffled
    /// order: evictions and reloads all the time, and every request is answered correctly.
    @Test func noRequestFailsUnderEvictionChurn() async throws {
        let models = Dictionary(uniqueKeysWithValues: (0..<20).map { ("m\($0)", FakeBackend.FakeModel.identity().taking(100)) })
        try await helper.withLazyServer(models, budget: 500) { server, backend, repo in
            var generator = SystemRandomNumberGenerator()
            let order = (0..<400).map { _ in Int.random(in: 0..<20, using: &generator) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for (position, model) in order.enumerated() where position % 8 == task {
                            let values: [Float] = [Float(model), Float(position), 3, 4]
                            let response = try await server.infer(helper.request("m\(model)", values: values))
                            #expect(response.modelName == "m\(model)")
                            #expect(response.outputs.first?.tensor == helper.request("m\(model)", values: values).inputs[0].tensor)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(backend.loadCount.load(ordering: .relaxed) > 20, "models were evicted and loaded again")
            #expect(server.manager.loadedBytes <= 500 + 8 * 100, "over the budget only by versions busy at the time")
        }
    }
}
