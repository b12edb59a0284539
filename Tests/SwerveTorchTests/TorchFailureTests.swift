import Foundation
import SwerveCore
@testable import SwerveTorch
import Testing

/// Bad model files, configurations that do not fit the model, and inputs the model rejects give
/// clear errors, never a crash.
@Suite(.enabled(if: TorchFixture.runsTorchTests))
struct TorchFailureTests {
    private func loadError(_ folder: String, config: Inference_ModelConfig?, file: String = "1/model.pt") throws -> SwerveError {
        let backend = try TorchFixture.backend()
        do {
            _ = try backend.loadInstance(modelPath: folder + "/" + file, options: InstanceOptions(config: config))
        } catch let error as SwerveError {
            return error
        }
        Issue.record("the load succeeded")
        return SwerveError.internal("no error")
    }

    /// A model.pt that is not a TorchScript archive fails to load with torch's reason and the path.
    @Test func corruptedModelFileIsAClearError() throws {
        let folder = try TorchFixture.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/1", withIntermediateDirectories: true)
        // A real model cut in half: a zip archive without its central directory.
        let model = try Data(contentsOf: URL(fileURLWithPath: try TorchFixture.model("dense") + "/1/model.pt"))
        try model.prefix(model.count / 2).write(to: URL(fileURLWithPath: folder + "/1/model.pt"))
        let error = try loadError(folder, config: TorchFixture.config(try TorchFixture.model("dense")))
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasPrefix("failed to load TorchScript model at \(folder)/1/model.pt: "))
        #expect(error.message.contains("zip archive"))
        #expect(!error.message.contains("frame #"))

        try Data("not a model".utf8).write(to: URL(fileURLWithPath: folder + "/1/model.pt"))
        #expect(try loadError(folder, config: nil).code == .invalidArgument)
    }

    /// Without a config, the load says what config.pbtxt must declare, with an example and forward's arguments.
    @Test func missingConfigExplainsWhatToDeclare() throws {
        let error = try loadError(try TorchFixture.model("two_io"), config: nil)
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("there is no config.pbtxt"))
        #expect(error.message.contains("platform: \"pytorch_libtorch\""))
        #expect(error.message.contains("{ name: \"INPUT__1\" data_type: TYPE_FP32"))
        #expect(error.message.contains("forward's argument i (a, b)"))

        var noOutputs = try TorchFixture.config(try TorchFixture.model("two_io"))
        noOutputs.output = []
        #expect(try loadError(try TorchFixture.model("two_io"), config: noOutputs).message.contains("config.pbtxt lists no output"))
    }

    /// A config whose outputs or inputs do not fit forward is refused, naming the field.
    @Test func configThatDoesNotFitForwardIsRefused() throws {
        let folder = try TorchFixture.model("two_io")
        var tooManyOutputs = try TorchFixture.config(folder)
        var extra = tooManyOutputs.output[0]
        extra.name = "OUTPUT__2"
        tooManyOutputs.output.append(extra)
        let error = try loadError(folder, config: tooManyOutputs)
        #expect(error.message.contains("config field 'output[2].name': 'OUTPUT__2' is result 2 but forward returns 2 tensors"))

        var oneInput = try TorchFixture.config(folder)
        oneInput.input.removeLast()
        #expect(try loadError(folder, config: oneInput).message.contains("config.pbtxt lists 1 inputs but forward takes 2 (a, b)"))

        var strings = try TorchFixture.config(folder)
        strings.input[0].dataType = .typeString
        #expect(try loadError(folder, config: strings).message.contains("TYPE_STRING is not supported"))

        var unsigned = try TorchFixture.config(folder)
        unsigned.output[0].dataType = .typeUint32
        #expect(try loadError(folder, config: unsigned).message.contains("config field 'output[0].data_type': TYPE_UINT32 is not supported"))
    }

    /// A model whose forward returns a dict is refused at load.
    @Test func dictOutputIsRefused() throws {
        let error = try loadError(try TorchFixture.model("dict_out"), config: TorchFixture.config(type: .fp32, dims: [4]))
        #expect(error.message.contains("forward returns Dict[str, Tensor]; only a Tensor, or a tuple or list of Tensors, can be served"))
    }

    /// An input shape the model cannot take fails the run with torch's message, and the instance keeps working.
    @Test func wrongInputShapeIsModelFailed() throws {
        let folder = try TorchFixture.model("dense")
        let config = try TorchFixture.config(folder)
        let instance = try TorchFixture.load(folder)
        let wrong = Tensor(dataType: .fp32, shape: [1, 5], data: [UInt8](repeating: 0, count: 20))
        do {
            _ = try instance.run(inputs: [NamedTensor(name: "INPUT__0", tensor: wrong)], outputs: ["OUTPUT__0"])
            Issue.record("the run succeeded")
        } catch let error as SwerveError {
            #expect(error.code == .modelFailed)
            #expect(error.message.contains("1x5"))
            #expect(!error.message.contains("Traceback"))
            #expect(error.message.split(separator: "\n").count <= TorchErrorMessage.maxLines)
        }
        let outputs = try instance.run(inputs: TorchFixture.inputs(folder, config: config), outputs: ["OUTPUT__0"])
        #expect(outputs[0].tensor.maxDifference(from: try TorchFixture.expected(folder, count: 1)[0]) <= 1e-4)
    }

    /// An output whose type or shape contradicts config.pbtxt fails the run, naming both.
    @Test func outputContradictingTheConfigIsModelFailed() throws {
        let folder = try TorchFixture.model("dense")
        var wrongType = try TorchFixture.config(folder)
        wrongType.output[0].dataType = .typeFp64
        let inputs = try TorchFixture.inputs(folder, config: wrongType)
        #expect {
            try TorchFixture.load(folder, config: wrongType).run(inputs: inputs, outputs: ["OUTPUT__0"])
        } throws: { error in
            (error as? SwerveError)?.code == .modelFailed
                && (error as? SwerveError)?.message == "output 'OUTPUT__0' is TYPE_FP32 but config.pbtxt declares TYPE_FP64"
        }
        var wrongDims = try TorchFixture.config(folder)
        wrongDims.output[0].dims = [10]
        #expect {
            try TorchFixture.load(folder, config: wrongDims).run(inputs: inputs, outputs: ["OUTPUT__0"])
        } throws: { error in
            (error as? SwerveError)?.message.hasPrefix("output 'OUTPUT__0' has shape [2, 8] but config.pbtxt declares [-1, 10]") == true
        }
    }

    /// An input of the wrong data type or an unknown name is refused before torch sees it.
    @Test func mismatchedInputsAreInvalidArguments() throws {
        let instance = try TorchFixture.load(try TorchFixture.model("dense"))
        let int32 = Tensor(dataType: .int32, shape: [1, 16], data: [UInt8](repeating: 0, count: 64))
        for inputs in [[NamedTensor(name: "INPUT__0", tensor: int32)], [NamedTensor(name: "x", tensor: int32)], []] {
            #expect {
                try instance.run(inputs: inputs, outputs: ["OUTPUT__0"])
            } throws: { error in
                (error as? SwerveError)?.code == .invalidArgument
            }
        }
    }
}
