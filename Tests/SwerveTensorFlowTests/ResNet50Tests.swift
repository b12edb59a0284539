import Foundation
import SwerveCore
import SwerveTensorFlow
import Testing

/// Keras' ResNet-50 exported as a SavedModel answers as TensorFlow did in the script's process.
///
/// Writing the model takes about 16 s and 200 MB, too much for every test run, so this runs only
/// when `SWERVE_TF_RESNET50` names a folder written by `make_tf_models.py OUT --models resnet50`
/// (the integration tests serve the same model through the server).
@Suite(.enabled(if: TFFixture.runsTFTests && TFFixture.resNet50Folder != nil))
struct ResNet50Tests {
    @Test func resNet50AnswersAsTensorFlowDidAndBatches() throws {
        let folder = try #require(TFFixture.resNet50Folder)
        let start = ContinuousClock.now
        let instance = try TFFixture.backend.loadInstance(
            modelPath: folder + "/resnet50/1/model.savedmodel", options: InstanceOptions())
        let loaded = ContinuousClock.now - start
        let reference = try TFReference(directory: folder + "/resnet50/reference")
        let input = try #require(reference.inputs.first)
        let expected = try #require(reference.outputs.first)
        #expect(instance.signature.inputs == [TensorSpec(name: input.name, dataType: .fp32, shape: [-1, 224, 224, 3])])
        #expect(instance.signature.outputs == [TensorSpec(name: expected.name, dataType: .fp32, shape: [-1, 1000])])
        let completed = try ModelConfigCompletion().complete(nil, modelName: "resnet50", signature: instance.signature, backend: TFFixture.backend)
        #expect(completed.config.maxBatchSize == 64)

        let firstStart = ContinuousClock.now
        let first = try instance.run(inputs: reference.inputs, outputs: [expected.name])[0].tensor
        let firstRun = ContinuousClock.now - firstStart
        #expect(first.largestDifference(from: expected.tensor) <= 1e-4)
        var runs: [Duration] = []
        for _ in 0..<20 {
            let runStart = ContinuousClock.now
            let output = try instance.run(inputs: reference.inputs, outputs: [expected.name])[0].tensor
            runs.append(ContinuousClock.now - runStart)
            #expect(output.shape == [1, 1000])
            #expect(output.largestDifference(from: expected.tensor) <= 1e-4)
        }
        // Two images in one batch: each row is the single image's answer.
        let pair = Tensor(dataType: .fp32, shape: [2, 224, 224, 3], data: input.tensor.data + input.tensor.data)
        let batched = try instance.run(inputs: [NamedTensor(name: input.name, tensor: pair)], outputs: [expected.name])[0].tensor
        #expect(batched.shape == [2, 1000])
        let rows = batched.values(as: Float.self)
        let want = expected.tensor.values(as: Float.self)
        #expect(zip(rows, want + want).allSatisfy { abs($0 - $1) <= 1e-4 })
        let sorted = runs.sorted()
        print("ResNet-50 SavedModel: load \(loaded), first run \(firstRun), then p50 \(sorted[sorted.count / 2]), min \(sorted[0]) (batch 1, \(TFFixture.backend.intraOpThreads) intra-op threads)")
    }
}
