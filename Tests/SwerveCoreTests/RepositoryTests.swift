import Foundation
import SwerveCore
import SwerveTesting
import Testing

struct RepositoryTests {
    /// Only numeric version folders count; hidden folders and stray files are ignored.
    @Test func scanFindsModelsAndNumericVersions() throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("b", versions: [1, 10, 2])
        try repo.addModel("a", versions: [3], config: "max_batch_size: 0")
        try FileManager.default.createDirectory(atPath: repo.root + "/b/notes", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repo.root + "/b/007", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repo.root + "/.hidden/1", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: repo.root + "/README", contents: Data())
        let entries = try ModelRepository(root: repo.root).scan()
        #expect(entries.map(\.name) == ["a", "b"])
        #expect(entries[1].versions == [1, 2, 10])
        #expect(entries[0].configText == "max_batch_size: 0")
    }

    /// A model.onnx straight in the root is version 1 of the default model name (whose version
    /// folder is the root itself), beside the model folders; without the name it is ignored.
    @Test func bareModelFileIsServedUnderTheDefaultModelName() throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("folder")
        FileManager.default.createFile(atPath: repo.root + "/model.onnx", contents: Data([1, 2, 3]))
        let named = ModelRepository(root: repo.root, defaultModelName: "bare")
        #expect(try named.scan().map(\.name) == ["bare", "folder"])
        let bare = try #require(named.entry(named: "bare"))
        #expect(bare.versions == [1])
        #expect(bare.versionPath(1) == repo.root)
        #expect(named.entry(named: "folder")?.versionPath(1) == repo.root + "/folder/1")
        #expect(try ModelRepository(root: repo.root).scan().map(\.name) == ["folder"])
        #expect(ModelRepository(root: repo.root).entry(named: "bare") == nil)
    }

    /// A missing repository folder is a clear error.
    @Test func missingRepositoryIsNotFound() {
        let error = #expect(throws: SwerveError.self) { try ModelRepository(root: "/nonexistent/swerve").scan() }
        #expect(error?.code == .notFound)
    }

    /// Version policies pick the versions Triton would.
    @Test(arguments: [
        (VersionPolicy.latest(1), [3]),
        (.latest(2), [2, 3]),
        (.all, [1, 2, 3]),
        (.specific([1, 3, 7]), [1, 3]),
    ])
    func versionPolicySelects(policy: VersionPolicy, expected: [Int]) {
        #expect(policy.select(from: [3, 1, 2]) == expected)
    }

    /// The policy is read from the config, latest 1 by default.
    @Test func versionPolicyReadsConfig() throws {
        #expect(VersionPolicy(Inference_ModelVersionPolicy()) == .latest(1))
        let parsed = try ModelConfigText.parse("version_policy: { all: {} }")
        #expect(VersionPolicy(parsed.config.versionPolicy) == .all)
    }
}
