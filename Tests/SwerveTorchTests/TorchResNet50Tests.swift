import Foundation
import SwerveCore
@testable import SwerveTorch
import Testing

/// torchvision's ResNet-50 (random weights, seed 0), traced by Debian's torch 1.13 and served by
/// the wheel's libtorch, frozen and optimised for inference.
@Suite(.enabled(if: TorchFixture.runsTorchTests))
struct TorchResNet50Tests {
    /// Its output for one image equals torch's own within 1e-4 of the output's scale, alone and in
    /// a batch of two.
    @Test func resnet50MatchesTorch() throws {
        let folder = try TorchFixture.resnet50.get() + "/resnet50"
        let config = try TorchFixture.config(folder)
        let loadStart = ContinuousClock.now
        let instance = try TorchFixture.load(folder)
        let loaded = ContinuousClock.now - loadStart
        let inputs = try TorchFixture.inputs(folder, config: config)
        let expected = try TorchFixture.expected(folder, count: 1)[0]
        let scale = expected.values(as: Float.self).reduce(Float(1)) { max($0, abs($1)) }

        var runs: [Duration] = []
        var difference: Float = 0
        for _ in 0..<3 {
            let start = ContinuousClock.now
            let outputs = try instance.run(inputs: inputs, outputs: ["OUTPUT__0"])
            runs.append(ContinuousClock.now - start)
            #expect(outputs[0].tensor.shape == [1, 1000])
            difference = max(difference, outputs[0].tensor.maxDifference(from: expected))
        }
        #expect(difference <= 1e-4 * scale)
        var batch = inputs[0]
        batch.tensor.shape[0] = 2
        batch.tensor.data += inputs[0].tensor.data
        let rows = try instance.run(inputs: [batch], outputs: ["OUTPUT__0"])[0].tensor
        #expect(rows.shape == [2, 1000])
        let values = rows.values(as: Float.self)
        for row in 0..<2 {
            let part = Tensor(dataType: .fp32, shape: [1, 1000], data: values[(row * 1000)..<(row * 1000 + 1000)].withUnsafeBytes { Array($0) })
            #expect(part.maxDifference(from: expected) <= 1e-4 * scale)
        }
        print("ResNet-50 (libtorch \(try TorchFixture.backend().version ?? "?"), 2 threads): load \(loaded), runs \(runs), largest difference \(difference) for outputs up to \(scale)")
    }
}
