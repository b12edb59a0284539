import Foundation
import SwerveCore
import SwerveONNXRuntime
import Synchronization
import Testing

/// The models that ship in the onnxruntime wheel's `datasets` folder.
@Suite(.enabled(if: ORTFixture.runsORTTests))
struct BundledModelTests {
    /// mul_1 declares X and Y as FP32 [3, 2] and returns X times [[1, 2], [3, 4], [5, 6]] exactly.
    @Test func mulModelMultipliesElementwise() throws {
        let model = try ORTFixture.load(ORTFixture.dataset("mul_1.onnx"))
        #expect(model.signature.inputs == [TensorSpec(name: "X", dataType: .fp32, shape: [3, 2])])
        #expect(model.signature.outputs == [TensorSpec(name: "Y", dataType: .fp32, shape: [3, 2])])
        #expect(model.signature.unsupportedOutputs.isEmpty)

        let x = Tensor.of(.fp32, [3, 2], [Float](arrayLiteral: 1, 2, 3, 4, 5, 6))
        let outputs = try model.run(inputs: [NamedTensor(name: "X", tensor: x)], outputs: ["Y"])
        #expect(outputs.map(\.name) == ["Y"])
        #expect(outputs[0].tensor.dataType == .fp32)
        #expect(outputs[0].tensor.shape == [3, 2])
        #expect(outputs[0].tensor.values(as: Float.self) == [1, 4, 9, 16, 25, 36])
    }

    /// sigmoid maps each of 60 values through 1 / (1 + e^-x).
    @Test func sigmoidModelComputesTheLogisticFunction() throws {
        let model = try ORTFixture.load(ORTFixture.dataset("sigmoid.onnx"))
        #expect(model.signature.inputs == [TensorSpec(name: "x", dataType: .fp32, shape: [3, 4, 5])])
        let values = (0..<60).map { Float($0 - 30) / 6 }
        let outputs = try model.run(inputs: [NamedTensor(name: "x", tensor: .of(.fp32, [3, 4, 5], values))], outputs: ["y"])
        #expect(outputs[0].tensor.shape == [3, 4, 5])
        let results = outputs[0].tensor.values(as: Float.self)
        #expect(results.count == 60)
        for (x, y) in zip(values, results) {
            #expect(abs(y - 1 / (1 + exp(-x))) < 1e-6)
        }
    }

    /// logreg_iris loads with its ZipMap 'probabilities' left out as a sequence of maps, and serves 'label'.
    @Test func zipMapOutputIsLeftOutAndLabelIsServed() throws {
        let model = try ORTFixture.load(ORTFixture.dataset("logreg_iris.onnx"))
        #expect(model.signature.outputs == [TensorSpec(name: "label", dataType: .int64, shape: [3])])
        #expect(model.signature.unsupportedOutputs == [
            UnsupportedTensor(
                name: "probabilities",
                reason: "output 'probabilities' is a sequence of maps, not a tensor; it is left out"
            ),
        ])

        let input = NamedTensor(name: "float_input", tensor: .of(.fp32, [3, 2], [Float](arrayLiteral: 1, 2, 3, 4, 10, 0)))
        let outputs = try model.run(inputs: [input], outputs: ["label"])
        #expect(outputs[0].tensor.shape == [3])
        #expect(outputs[0].tensor.values(as: Int64.self) == [0, 0, 2])

        let error = #expect(throws: SwerveError.self) { try model.run(inputs: [input], outputs: ["probabilities"]) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("is a sequence of maps") == true)
    }

    /// Several threads running one session at once each get their own correct results.
    @Test func concurrentRunsOnOneSessionGiveCorrectResults() throws {
        let model = try ORTFixture.load(ORTFixture.dataset("mul_1.onnx"))
        let factors: [Float] = [1, 2, 3, 4, 5, 6]
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for round in 0..<50 {
                let base = Float(thread * 100 + round)
                let x = (0..<6).map { base + Float($0) }
                do {
                    let y = try model.run(inputs: [NamedTensor(name: "X", tensor: .of(.fp32, [3, 2], x))], outputs: ["Y"])
                    if y[0].tensor.values(as: Float.self) != zip(x, factors).map(*) {
                        failures.add("thread \(thread) round \(round): wrong result")
                    }
                } catch {
                    failures.add("thread \(thread) round \(round): \(error)")
                }
            }
        }
        #expect(failures.all.isEmpty)
    }
}

/// Failures collected from many threads.
private final class Failures: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ failure: String) { list.withLock { $0.append(failure) } }
    var all: [String] { list.withLock { $0 } }
}
