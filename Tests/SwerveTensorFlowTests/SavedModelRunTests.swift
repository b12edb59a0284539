import Foundation
import SwerveCore
import SwerveTensorFlow
import Synchronization
import Testing

/// SavedModels written by `make_tf_models.py` answer through the backend exactly as TensorFlow
/// answered in the script's process.
@Suite(.enabled(if: TFFixture.runsTFTests))
struct SavedModelRunTests {
    /// Runs `instance` on the reference inputs and checks every output: within 1e-4 for FP32 and
    /// FP64, equal bytes for every other type.
    private func expectMatches(_ instance: any ModelInstance, _ reference: TFReference) throws {
        let outputs = try instance.run(inputs: reference.inputs, outputs: reference.outputs.map(\.name))
        #expect(outputs.map(\.name) == reference.outputs.map(\.name))
        for (output, expected) in zip(outputs, reference.outputs) {
            #expect(output.tensor.dataType == expected.tensor.dataType, "\(output.name)")
            #expect(output.tensor.shape == expected.tensor.shape, "\(output.name)")
            #expect(output.tensor.largestDifference(from: expected.tensor) <= 1e-4, "\(output.name)")
        }
    }

    @Test func denseModelAnswersAsTensorFlowDid() throws {
        let instance = try TFFixture.load("dense")
        #expect(instance.signature.inputs == [TensorSpec(name: "x", dataType: .fp32, shape: [-1, 4])])
        #expect(instance.signature.outputs == [TensorSpec(name: "y", dataType: .fp32, shape: [-1, 3])])
        try expectMatches(instance, try TFReference(model: "dense"))
    }

    @Test func everyKServeDataTypeRoundTrips() throws {
        let instance = try TFFixture.load("dtypes")
        let expectedInputs: [(String, DataType)] = [
            ("bf16", .bf16), ("boolean", .bool), ("f16", .fp16), ("f32", .fp32), ("f64", .fp64), ("i16", .int16),
            ("i32", .int32), ("i64", .int64), ("i8", .int8), ("text", .bytes), ("u16", .uint16), ("u32", .uint32),
            ("u64", .uint64), ("u8", .uint8),
        ]
        #expect(instance.signature.inputs == expectedInputs.map { TensorSpec(name: $0.0, dataType: $0.1, shape: [-1, 2]) })
        #expect(instance.signature.outputs.first { $0.name == "total" } == TensorSpec(name: "total", dataType: .fp32, shape: []))
        #expect(instance.signature.outputs.first { $0.name == "text_out" }?.dataType == .bytes)
        let reference = try TFReference(model: "dtypes")
        try expectMatches(instance, reference)
        // The strings themselves, to be sure of the long one, the empty one and the NUL byte.
        let text = try instance.run(inputs: reference.inputs, outputs: ["text_out"])[0].tensor
        let elements = try BytesCodec.decode(text.data, tensorName: "text_out").map { Array($0) }
        #expect(elements == [
            Array("hello!".utf8), Array("!".utf8), Array("a string longer than twenty-two bytes, stored apart!".utf8),
            Array("nul".utf8) + [0] + Array("inside!".utf8),
        ])
    }

    @Test func outputsCanBeAskedForInAnyOrderAndSubset() throws {
        let instance = try TFFixture.load("dtypes")
        let reference = try TFReference(model: "dtypes")
        let outputs = try instance.run(inputs: reference.inputs, outputs: ["u8_out", "boolean_out"])
        #expect(outputs.map(\.name) == ["u8_out", "boolean_out"])
        #expect(outputs[0].tensor == reference.outputs.first { $0.name == "u8_out" }?.tensor)
        #expect(outputs[1].tensor == reference.outputs.first { $0.name == "boolean_out" }?.tensor)
    }

    @Test func aShapeTheGraphRejectsIsAModelFailureWithTensorFlowsMessage() throws {
        let instance = try TFFixture.load("dense")
        let wrong = NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [2, 5], data: [UInt8](repeating: 0, count: 40)))
        let error = try #require(throws: SwerveError.self) { try instance.run(inputs: [wrong], outputs: ["y"]) }
        #expect(error.code == .modelFailed)
        #expect(error.message.hasPrefix("model failed to run: "))
        #expect(error.message.contains("[2,5]"))
    }

    @Test func unknownNamesAndWrongTypesAreInvalidArguments() throws {
        let instance = try TFFixture.load("dense")
        let x = NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, 4], data: [UInt8](repeating: 0, count: 16)))
        let unknownOutput = try #require(throws: SwerveError.self) { try instance.run(inputs: [x], outputs: ["z"]) }
        #expect(unknownOutput.code == .invalidArgument)
        #expect(unknownOutput.message == "the model has no output 'z'")
        let wrongType = NamedTensor(name: "x", tensor: Tensor(dataType: .int32, shape: [1, 4], data: [UInt8](repeating: 0, count: 16)))
        let typeError = try #require(throws: SwerveError.self) { try instance.run(inputs: [wrongType], outputs: ["y"]) }
        #expect(typeError.message == "input 'x' is INT32 but the model expects FP32")
    }

    @Test func bytesElementsThatDoNotFillTheShapeAreRefused() throws {
        let instance = try TFFixture.load("dtypes")
        let reference = try TFReference(model: "dtypes")
        let short = Tensor(dataType: .bytes, shape: [2, 2], data: BytesCodec.encode([[UInt8]("a".utf8), [], [0x62]]))
        let inputs = reference.inputs.map { $0.name == "text" ? NamedTensor(name: "text", tensor: short) : $0 }
        let error = try #require(throws: SwerveError.self) { try instance.run(inputs: inputs, outputs: ["text_out"]) }
        #expect(error.code == .invalidArgument)
        #expect(error.message == "input 'text' has 3 BYTES elements but its shape holds 4")
    }

    @Test func anEmptyBatchGivesAnEmptyOutput() throws {
        let instance = try TFFixture.load("dense")
        let empty = NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [0, 4], data: []))
        let output = try instance.run(inputs: [empty], outputs: ["y"])[0].tensor
        #expect(output.shape == [0, 3])
        #expect(output.data.isEmpty)
    }

    @Test func runsFromManyThreadsAtOnceEachGetTheirOwnAnswer() throws {
        let instance = try TFFixture.load("dense")
        let reference = try TFReference(model: "dense")
        let x = reference.inputs[0].tensor.values(as: Float.self)
        let y = reference.outputs[0].tensor.values(as: Float.self)
        let rows = reference.inputs[0].tensor.shape[0]
        let failures = Mutex<[String]>([])
        // Each thread runs single rows of the reference input, chosen by thread and round, and
        // checks that it gets that row of the reference output.
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for round in 0..<40 {
                let row = (thread + round) % rows
                let input = Tensor(dataType: .fp32, shape: [1, 4], data: Array(x[(row * 4)..<(row * 4 + 4)]).withUnsafeBytes { Array($0) })
                do {
                    let output = try instance.run(inputs: [NamedTensor(name: "x", tensor: input)], outputs: ["y"])[0].tensor
                    let got = output.values(as: Float.self)
                    let want = Array(y[(row * 3)..<(row * 3 + 3)])
                    if zip(got, want).contains(where: { abs($0 - $1) > 1e-4 }) || got.count != 3 {
                        failures.withLock { $0.append("thread \(thread) round \(round): row \(row) gave \(got), want \(want)") }
                    }
                } catch {
                    failures.withLock { $0.append("thread \(thread) round \(round): \(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 } == [])
    }
}
