import Foundation
import Logging
import SwerveTesting
import Testing

@testable import SwerveCore

/// The rules of the core's one door: model control by mode, default versions, version text,
/// and what unknown and unloaded models answer.
struct InferenceServerTests {
    /// A started server over a repository with `m` in versions 1 and 2 (both served) and `n`.
    func withServer(
        _ mode: ModelControlMode, startupModels: [String] = ["*"], _ body: (InferenceServer) async throws -> Void
    ) async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m", versions: [1, 2], config: "version_policy: { all: {} }")
        try repo.addModel("n")
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["m": .identity(), "n": .identity()]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        let server = InferenceServer(manager: manager, controlMode: mode, startupModels: startupModels)
        try await server.start()
        try await body(server)
        await server.shutdown()
    }

    func request(_ model: String, version: Int? = nil) -> InferenceRequest {
        InferenceRequest(
            modelName: model, modelVersion: version,
            inputs: [NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, 4], data: [UInt8](repeating: 0, count: 16)))])
    }

    /// Outside explicit mode every API that loads or unloads is refused with invalidArgument
    /// naming the flag that allows it, and nothing changes.
    @Test(arguments: [ModelControlMode.none, .poll])
    func modelControlNeedsExplicitMode(_ mode: ModelControlMode) async throws {
        try await withServer(mode) { server in
            let attempts: [(String, () async throws -> Void)] = [
                ("loadModel", { try await server.loadModel("m") }),
                ("unloadModel", { try await server.unloadModel("m") }),
                ("unloadVersion", { try await server.unloadVersion("m", version: 1) }),
                ("unloadDefaultVersion", { try await server.unloadDefaultVersion("n") }),
                ("registerModel", { _ = try await server.registerModel("n", settings: ModelServingSettings(instances: 2)) }),
                ("scaleModel", { try await server.scaleModel("m", instances: 2) }),
            ]
            for (name, attempt) in attempts {
                let error = await #expect(throws: SwerveError.self, "\(name) in \(mode) mode") { try await attempt() }
                #expect(error?.code == .invalidArgument, "\(name)")
                #expect(error?.message.contains("--model-control-mode explicit") == true, "\(name): \(error?.message ?? "")")
            }
            #expect(server.readyVersions("m") == [1, 2])
            #expect(server.readyVersions("n") == [1])
        }
    }

    /// Choosing the default version changes no model's state, so every mode allows it; requests
    /// without a version then go to it. A version that is not served cannot be the default.
    @Test(arguments: ModelControlMode.allCases)
    func setDefaultVersionWorksInEveryMode(_ mode: ModelControlMode) async throws {
        try await withServer(mode) { server in
            #expect(server.defaultVersion("m") == 2)
            try server.setDefaultVersion("m", version: 1)
            #expect(server.defaultVersion("m") == 1)
            #expect(try await server.infer(request("m")).modelVersion == 1)
            let missing = #expect(throws: SwerveError.self) { try server.setDefaultVersion("m", version: 3) }
            #expect(missing?.code == .notFound)
            #expect(server.defaultVersion("m") == 1)
        }
    }

    /// In explicit mode, registering a loaded model is alreadyExists, an unknown one notFound,
    /// and a model of the repository not loaded yet loads with the settings given.
    @Test func registerAnswersAlreadyExistsAndNotFound() async throws {
        try await withServer(.explicit, startupModels: ["m"]) { server in
            let loaded = await #expect(throws: SwerveError.self) {
                _ = try await server.registerModel("m", settings: ModelServingSettings())
            }
            #expect(loaded?.code == .alreadyExists)
            let unknown = await #expect(throws: SwerveError.self) {
                _ = try await server.registerModel("nope", settings: ModelServingSettings())
            }
            #expect(unknown?.code == .notFound)
            let registered = try await server.registerModel("n", settings: ModelServingSettings(instances: 2))
            #expect(registered.versions == [1] && registered.instances == 2)
            #expect(server.readyVersions("n") == [1])
        }
    }

    /// The default version cannot be unloaded while another version is served (requests without
    /// a version would move behind their clients' backs); another version can, and then the last
    /// one can too.
    @Test func defaultVersionCannotGoWhileAnotherIsServed() async throws {
        try await withServer(.explicit) { server in
            #expect(server.defaultVersion("m") == 2)
            let byVersion = await #expect(throws: SwerveError.self) { try await server.unloadVersion("m", version: 2) }
            #expect(byVersion?.code == .failedPrecondition)
            let byDefault = await #expect(throws: SwerveError.self) { try await server.unloadDefaultVersion("m") }
            #expect(byDefault?.code == .failedPrecondition)
            #expect(server.readyVersions("m") == [1, 2])
            let unserved = await #expect(throws: SwerveError.self) { try await server.unloadVersion("m", version: 7) }
            #expect(unserved?.code == .notFound)

            try await server.unloadVersion("m", version: 1)
            #expect(server.readyVersions("m") == [2])
            try await server.unloadVersion("m", version: 2)
            #expect(server.readyVersions("m") == [])
        }
    }

    /// Every protocol reads a version with one rule: absent or empty is the default version, a
    /// positive integer is that version, anything else is a malformed request.
    @Test func versionTextIsAPositiveIntegerOrNothing() throws {
        #expect(try ModelVersionText.parse(nil, model: "m") == nil)
        #expect(try ModelVersionText.parse("", model: "m") == nil)
        #expect(try ModelVersionText.parse("3", model: "m") == 3)
        for text in ["0", "-1", "abc", "1.5", " 2"] {
            let error = #expect(throws: SwerveError.self, "\(text)") { try ModelVersionText.parse(text, model: "m") }
            #expect(error?.code == .invalidArgument, "\(text)")
            #expect(error?.message.contains("'\(text)'") == true, "\(error?.message ?? "")")
        }
    }

    /// Loading a model the repository lacks names something that cannot be loaded: invalidArgument.
    @Test func loadingAModelTheRepositoryLacksIsInvalidArgument() async throws {
        try await withServer(.explicit, startupModels: []) { server in
            let error = await #expect(throws: SwerveError.self) { try await server.loadModel("nope") }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("nope") == true)
        }
    }

    /// After unloadModel the model is notFound, not unavailable: it is simply not served.
    @Test func unloadedModelIsNotFound() async throws {
        try await withServer(.explicit) { server in
            _ = try server.servedVersion("n", version: nil)
            try await server.unloadModel("n")
            let served = #expect(throws: SwerveError.self) { try server.servedVersion("n", version: nil) }
            #expect(served?.code == .notFound)
            let ready = await #expect(throws: SwerveError.self) { try await server.isModelReady("n", version: nil) }
            #expect(ready?.code == .notFound)
            let inferred = await #expect(throws: SwerveError.self) { try await server.infer(request("n")) }
            #expect(inferred?.code == .notFound)
            #expect(server.modelStatuses(model: "n").map(\.state) == [.unloaded])
        }
    }

    /// An error's description (for logs) keeps its cause; its message (for clients) does not.
    @Test func errorDescriptionKeepsTheCauseAndMessageDoesNot() {
        struct Cause: Error, CustomStringConvertible {
            var description: String { "disk on fire" }
        }
        let error = SwerveError(.internal, "cannot read the model", cause: Cause())
        #expect(error.message == "cannot read the model")
        #expect(error.description == "cannot read the model (cause: disk on fire)")
        #expect(SwerveError.clientMessage(error) == "cannot read the model")
        #expect(SwerveError.invalid("plain").description == "plain")
    }
}
