import SwerveCore
@testable import SwerveTorch
import Testing

/// How config.pbtxt's inputs and outputs map onto forward (Triton's rules), without libtorch.
struct TorchBindingTests {
    private let twoArguments = TorchForwardSchema(argumentNames: ["a", "b"], argumentTypes: ["Tensor", "Tensor"], returns: .tuple(count: 3))

    private func config(inputs: [String], outputs: [String], maxBatchSize: Int32 = 4) -> Inference_ModelConfig {
        var config = Inference_ModelConfig()
        config.maxBatchSize = maxBatchSize
        config.input = inputs.map { name in
            var input = Inference_ModelInput()
            input.name = name
            input.dataType = .typeFp32
            input.dims = [2]
            return input
        }
        config.output = outputs.map { name in
            var output = Inference_ModelOutput()
            output.name = name
            output.dataType = .typeInt64
            output.dims = [-1, 3]
            return output
        }
        return config
    }

    private func error(_ config: Inference_ModelConfig?, _ forward: TorchForwardSchema? = nil) -> String {
        do {
            _ = try TorchBinding(config: config, forward: forward ?? twoArguments)
            return "no error"
        } catch {
            return error.message
        }
    }

    /// Inputs named after forward's arguments are those arguments, whatever their order in the config.
    @Test func forwardArgumentNamesWin() throws {
        let binding = try TorchBinding(config: config(inputs: ["b", "a"], outputs: ["y"]), forward: twoArguments)
        #expect(binding.inputs.map(\.argument) == [1, 0])
        #expect(binding.signature.inputs.map(\.name) == ["b", "a"])
    }

    /// `<name>__<index>` names give positions; anything else maps in config order.
    @Test func namedIndicesThenConfigOrder() throws {
        let indexed = try TorchBinding(config: config(inputs: ["INPUT__1", "INPUT__0"], outputs: ["OUTPUT__2", "OUTPUT__0"]), forward: twoArguments)
        #expect(indexed.inputs.map(\.argument) == [1, 0])
        #expect(indexed.outputs.map(\.index) == [2, 0])
        let ordered = try TorchBinding(config: config(inputs: ["image", "mask"], outputs: ["logits", "boxes"]), forward: twoArguments)
        #expect(ordered.inputs.map(\.argument) == [0, 1])
        #expect(ordered.outputs.map(\.index) == [0, 1])
        // One name off the convention puts all of them in config order, as Triton does.
        let mixed = try TorchBinding(config: config(inputs: ["INPUT__1", "x"], outputs: ["OUTPUT__1", "scores"]), forward: twoArguments)
        #expect(mixed.inputs.map(\.argument) == [0, 1])
        #expect(mixed.outputs.map(\.index) == [0, 1])
        #expect(TorchBinding.namedIndices(["A__12", "my__input__3", "B__", "C_1"]) == nil)
        #expect(TorchBinding.namedIndices(["A__12", "__0"]) == [12, 0])
    }

    /// Shapes are the config's dims behind a -1 batch dimension when max_batch_size > 0.
    @Test func shapesFollowMaxBatchSize() throws {
        let batched = try TorchBinding(config: config(inputs: ["a", "b"], outputs: ["y"]), forward: twoArguments)
        #expect(batched.signature.inputs[0] == TensorSpec(name: "a", dataType: .fp32, shape: [-1, 2]))
        #expect(batched.signature.outputs[0] == TensorSpec(name: "y", dataType: .int64, shape: [-1, -1, 3]))
        let unbatched = try TorchBinding(config: config(inputs: ["a", "b"], outputs: ["y"], maxBatchSize: 0), forward: twoArguments)
        #expect(unbatched.signature.inputs[0].shape == [2])
        #expect(unbatched.inputs.map(\.typeCode) == [8, 8])
    }

    /// Positions out of range or named twice, and counts that differ from forward's, are refused.
    @Test func positionsMustFitForward() {
        #expect(error(config(inputs: ["INPUT__0", "INPUT__2"], outputs: ["y"])).contains("'INPUT__2' names argument 2 but forward takes 2 (a, b)"))
        #expect(error(config(inputs: ["INPUT__0", "X__0"], outputs: ["y"])).contains("'X__0' and 'INPUT__0' both name argument 0"))
        #expect(error(config(inputs: ["a", "b"], outputs: ["OUTPUT__3"])).contains("'OUTPUT__3' is result 3 but forward returns 3 tensors"))
        #expect(error(config(inputs: ["a", "b"], outputs: ["y__1", "z__1"])).contains("'z__1' and 'y__1' both name result 1"))
        #expect(error(config(inputs: ["a"], outputs: ["y"])).contains("config.pbtxt lists 1 inputs but forward takes 2 (a, b)"))
        let list = TorchForwardSchema(argumentNames: ["a", "b"], argumentTypes: ["Tensor", "Tensor"], returns: .list)
        #expect(error(config(inputs: ["a", "b"], outputs: ["OUTPUT__7"]), list) == "no error")
    }

    /// Arguments that are not tensors, results that are not tensors, and missing fields are refused.
    @Test func unsupportedSignaturesAndFieldsAreRefused() {
        let dictArgument = TorchForwardSchema(argumentNames: ["a", "b"], argumentTypes: ["Tensor", "Dict(str, Tensor)"], returns: .tensor)
        #expect(error(config(inputs: ["a", "b"], outputs: ["y"]), dictArgument).contains("forward's argument 'b' is Dict(str, Tensor)"))
        let numberResult = TorchForwardSchema(argumentNames: ["a", "b"], argumentTypes: ["Tensor", "Tensor"], returns: .other(type: "int"))
        #expect(error(config(inputs: ["a", "b"], outputs: ["y"]), numberResult).contains("forward returns int"))
        var noType = config(inputs: ["a", "b"], outputs: ["y"])
        noType.input[1].dataType = .typeInvalid
        #expect(error(noType).contains("config field 'input[1].data_type' is required"))
        var reshaped = config(inputs: ["a", "b"], outputs: ["y"])
        reshaped.input[0].reshape.shape = [1, 2]
        #expect(error(reshaped).contains("config field 'input[0].reshape' is not supported"))
        var optional = config(inputs: ["a", "b"], outputs: ["y"])
        optional.input[0].optional = true
        #expect(error(optional).contains("config field 'input[0].optional'"))
        #expect(error(nil).contains("there is no config.pbtxt"))
        #expect(error(config(inputs: [], outputs: ["y"])).contains("config.pbtxt lists no input"))
    }
}
