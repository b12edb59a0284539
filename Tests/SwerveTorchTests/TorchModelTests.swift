import SwerveCore
@testable import SwerveTorch
import Testing

/// TorchScript models written by scripts/make_torch_models.py, run through the shim and compared
/// with what torch computed for the same inputs when it wrote them.
@Suite(.enabled(if: TorchFixture.runsTorchTests))
struct TorchModelTests {
    /// Runs a model folder's inputs and returns the outputs in config order with the expected ones.
    private func runModel(_ name: String) throws -> (got: [Tensor], expected: [Tensor]) {
        let folder = try TorchFixture.model(name)
        let config = try TorchFixture.config(folder)
        let instance = try TorchFixture.load(folder)
        let outputs = try instance.run(inputs: TorchFixture.inputs(folder, config: config), outputs: config.output.map(\.name))
        #expect(outputs.map(\.name) == config.output.map(\.name))
        return (outputs.map(\.tensor), try TorchFixture.expected(folder, count: config.output.count))
    }

    /// The backend reports what it loaded: the shim's path and libtorch's version and threads.
    @Test func backendReportsTheShimAndLibtorch() throws {
        let backend = try TorchFixture.backend()
        #expect(backend.name == "pytorch")
        #expect(backend.platform == "pytorch_libtorch")
        #expect(backend.defaultModelFilename == "model.pt")
        #expect(backend.libraryPath?.hasSuffix("libswerve_torch_shim.so") == true)
        #expect(backend.version?.split(separator: ".").count == 3)
        #expect(backend.intraOpThreads == 2)
    }

    /// A traced dense layer with a batch dimension gives torch's outputs for a batch of two.
    @Test func denseModelMatchesTorch() throws {
        let (got, expected) = try runModel("dense")
        #expect(got[0].shape == [2, 8])
        #expect(got[0].maxDifference(from: expected[0]) <= 1e-4)
    }

    /// The signature is the configuration's: names, types, and dims behind a -1 batch dimension.
    @Test func signatureComesFromTheConfig() throws {
        let instance = try TorchFixture.load(try TorchFixture.model("dense"))
        #expect(instance.signature.inputs == [TensorSpec(name: "INPUT__0", dataType: .fp32, shape: [-1, 16])])
        #expect(instance.signature.outputs == [TensorSpec(name: "OUTPUT__0", dataType: .fp32, shape: [-1, 8])])
    }

    /// Inputs named after forward's arguments and outputs named OUTPUT__<i>, each listed out of
    /// order, reach the right argument and come from the right tuple element.
    @Test func twoInputTwoOutputModelMapsNamesToPositions() throws {
        let (got, expected) = try runModel("two_io")
        #expect(got.count == 2)
        for (output, reference) in zip(got, expected) {
            #expect(output.shape == [3, 4])
            #expect(output.maxDifference(from: reference) <= 1e-4)
        }
    }

    /// INT64 values beyond 32 bits pass through exactly (names that follow no convention map in config order).
    @Test func int64ModelIsExact() throws {
        let (got, expected) = try runModel("int64")
        #expect(got[0].dataType == .int64)
        #expect(got[0].values(as: Int64.self) == expected[0].values(as: Int64.self))
        #expect(got[0].values(as: Int64.self).contains { abs($0) > Int64(Int32.max) })
    }

    /// A model returning List[Tensor] serves each element as an output.
    @Test func listOutputsAreFlattenedInOrder() throws {
        let (got, expected) = try runModel("list_out")
        #expect(got == expected)
    }

    /// Only the outputs asked for come back, in the order asked.
    @Test func requestedOutputsComeBackInTheOrderAsked() throws {
        let folder = try TorchFixture.model("list_out")
        let config = try TorchFixture.config(folder)
        let instance = try TorchFixture.load(folder)
        let expected = try TorchFixture.expected(folder, count: 2)
        let outputs = try instance.run(inputs: TorchFixture.inputs(folder, config: config), outputs: ["OUTPUT__1"])
        #expect(outputs == [NamedTensor(name: "OUTPUT__1", tensor: expected[1])])
    }

    /// Every element type torch can hold goes in and comes back unchanged through an identity model
    /// (whose output is its input's own memory).
    @Test(arguments: [DataType.bool, .uint8, .int8, .int16, .int32, .int64, .fp16, .bf16, .fp32, .fp64])
    func identityKeepsEveryElementType(_ type: DataType) throws {
        let folder = try TorchFixture.model("identity")
        let instance = try TorchFixture.load(folder, config: TorchFixture.config(type: type, dims: [2, 3]))
        let size = type.byteSize!
        let data = (0..<(6 * size)).map { UInt8(truncatingIfNeeded: $0 * 37 + 1) & (type == .bool ? 1 : 0xFF) }
        let input = Tensor(dataType: type, shape: [2, 3], data: data)
        let outputs = try instance.run(inputs: [NamedTensor(name: "INPUT__0", tensor: input)], outputs: ["OUTPUT__0"])
        #expect(outputs == [NamedTensor(name: "OUTPUT__0", tensor: input)])
    }

    /// A model that writes to its input gets a copy: the caller's buffer is unchanged and the
    /// result is torch's.
    @Test func inPlaceModelDoesNotWriteToTheCallersBuffer() throws {
        let folder = try TorchFixture.model("inplace")
        let config = try TorchFixture.config(folder)
        let instance = try #require(try TorchFixture.load(folder) as? TorchModelInstance)
        #expect(instance.api.argumentBorrowed(instance.module, 0) == 0)
        let inputs = try TorchFixture.inputs(folder, config: config)
        let outputs = try instance.run(inputs: inputs, outputs: ["OUTPUT__0"])
        // Read again: a copy of the array made here would share the buffer the run was given.
        #expect(inputs == (try TorchFixture.inputs(folder, config: config)))
        #expect(outputs[0].tensor == (try TorchFixture.expected(folder, count: 1)[0]))
        // A model that only reads its input borrows the buffer.
        let dense = try #require(try TorchFixture.load(try TorchFixture.model("dense")) as? TorchModelInstance)
        #expect(dense.api.argumentBorrowed(dense.module, 0) == 1)
    }

    /// Runs report the time spent in forward.
    @Test func runsReportTheirTimings() throws {
        let folder = try TorchFixture.model("dense")
        let config = try TorchFixture.config(folder)
        let instance = try TorchFixture.load(folder)
        var timings = RunTimings()
        _ = try instance.run(inputs: TorchFixture.inputs(folder, config: config), outputs: ["OUTPUT__0"], timings: &timings)
        #expect(timings.inferNanoseconds > 0)
    }
}
