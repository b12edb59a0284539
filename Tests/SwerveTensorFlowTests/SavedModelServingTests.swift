import Foundation
import Logging
import SwerveCore
import SwerveTensorFlow
import Testing

/// SavedModels served by the core exactly as ONNX models are: found by their `model.savedmodel`
/// folder, configuration completed from the signature, warmed up, batched, answered.
@Suite(.enabled(if: TFFixture.runsTFTests))
struct SavedModelServingTests {
    /// A started server over a repository holding the generated `dense` and `dtypes` models, and
    /// `two_signatures` served as `plus_one` with a config.pbtxt that names that signature.
    func withServer(_ body: (InferenceServer) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-tf-repo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for name in ["dense", "dtypes", "two_signatures"] {
            try FileManager.default.createDirectory(atPath: root + "/\(name)/1", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: try TFFixture.savedModel(name), toPath: root + "/\(name)/1/model.savedmodel")
        }
        try FileManager.default.moveItem(atPath: root + "/two_signatures", toPath: root + "/plus_one")
        try Data("""
            parameters { key: "signature_def" value { string_value: "plus_one" } }
            dynamic_batching { max_queue_delay_microseconds: 50000 }
            max_batch_size: 8

            """.utf8).write(to: URL(fileURLWithPath: root + "/plus_one/config.pbtxt"))
        let manager = ModelManager(
            repository: ModelRepository(root: root), backends: BackendSet([TFFixture.backend]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        let server = InferenceServer(manager: manager)
        try await server.start()
        try await body(server)
        await server.shutdown()
    }

    @Test func everyModelLoadsWithItsConfigurationCompleted() async throws {
        try await withServer { server in
            for name in ["dense", "dtypes", "plus_one"] {
                #expect(server.readyVersions(name) == [1], "\(name)")
            }
            let dense = try await server.config(model: "dense", version: nil)
            #expect(dense.platform == "tensorflow_savedmodel")
            #expect(dense.maxBatchSize == 64)
            #expect(dense.input.map(\.name) == ["x"])
            #expect(dense.output.map(\.dims) == [[3]])
            let metadata = try await server.metadata(model: "plus_one", version: nil)
            #expect(metadata.platform == "tensorflow_savedmodel")
            #expect(metadata.inputs == [TensorSpec(name: "a", dataType: .int64, shape: [-1])])
        }
    }

    @Test func requestsAreAnsweredAsTensorFlowDid() async throws {
        try await withServer { server in
            for (model, folder) in [("dense", "reference"), ("dtypes", "reference")] {
                let reference = try TFReference(model: model, folder: folder)
                let response = try await server.infer(InferenceRequest(modelName: model, inputs: reference.inputs))
                let byName = Dictionary(uniqueKeysWithValues: response.outputs.map { ($0.name, $0.tensor) })
                for expected in reference.outputs {
                    let output = try #require(byName[expected.name], "\(model) \(expected.name)")
                    #expect(output.largestDifference(from: expected.tensor) <= 1e-4, "\(model) \(expected.name)")
                }
            }
            let plusOne = try TFReference(model: "two_signatures", folder: "reference_plus_one")
            let response = try await server.infer(InferenceRequest(modelName: "plus_one", inputs: plusOne.inputs))
            #expect(response.outputs == plusOne.outputs)
        }
    }

    /// Concurrent single-row requests, merged by the dynamic batcher (which waits up to 50 ms for
    /// up to 8 rows) into batches the session runs at once, each get their own row back.
    @Test func batchedRequestsEachGetTheirOwnRow() async throws {
        try await withServer { server in
            let values: [Int64] = (0..<32).map { $0 * 7 - 50 }
            let answers = try await withThrowingTaskGroup(of: (Int64, [Int64]).self) { group in
                for value in values {
                    group.addTask {
                        let input = NamedTensor(name: "a", tensor: Tensor(dataType: .int64, shape: [1], data: withUnsafeBytes(of: value) { Array($0) }))
                        let response = try await server.infer(InferenceRequest(modelName: "plus_one", inputs: [input]))
                        return (value, response.outputs[0].tensor.values(as: Int64.self))
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            #expect(answers.count == values.count)
            for value in values {
                #expect(answers[value] == [value + 1])
            }
            let statistics = try #require(try server.statistics(model: "plus_one", version: 1).first)
            #expect(statistics.inferenceCount == UInt64(values.count))
            #expect(statistics.executionCount < UInt64(values.count), "no two requests were run as one batch")
        }
    }
}
