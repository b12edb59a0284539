import SwerveCore
import SwerveTesting
import Testing

struct ModelConfigCompletionTests {
    let backend = FakeBackend(models: [:])
    let dynamicSignature = ModelSignature(
        inputs: [TensorSpec(name: "x", dataType: .fp32, shape: [-1, 16])],
        outputs: [TensorSpec(name: "y", dataType: .fp32, shape: [-1, 16])])

    /// Without a config, every field comes from the model, and a variable first dimension batches.
    @Test func completesConfigFromTheModel() throws {
        let result = try ModelConfigCompletion(defaultMaxBatchSize: 32).complete(nil, modelName: "dense", signature: dynamicSignature, backend: backend)
        #expect(result.config.name == "dense")
        #expect(result.config.platform == "onnxruntime_onnx")
        #expect(result.config.backend == "onnxruntime")
        #expect(result.config.maxBatchSize == 32)
        #expect(result.config.input.first?.dims == [16])
        #expect(result.config.input.first?.dataType == .typeFp32)
        #expect(result.config.versionPolicy.latest.numVersions == 1)
        #expect(result.config.instanceGroup.first?.count == 1)
        #expect(result.io.inputs == [TensorSpec(name: "x", dataType: .fp32, shape: [-1, 16])])
    }

    /// A fixed first dimension means no batching: max_batch_size 0 and full dims.
    @Test func fixedFirstDimensionDoesNotBatch() throws {
        let signature = ModelSignature(
            inputs: [TensorSpec(name: "X", dataType: .fp32, shape: [3, 2])],
            outputs: [TensorSpec(name: "Y", dataType: .fp32, shape: [3, 2])])
        let result = try ModelConfigCompletion().complete(nil, modelName: "mul", signature: signature, backend: backend)
        #expect(result.config.maxBatchSize == 0)
        #expect(result.config.input.first?.dims == [3, 2])
    }

    /// An explicit max_batch_size 0 is kept, and dims then include the first dimension.
    @Test func explicitZeroMaxBatchSizeIsKept() throws {
        let parsed = try ModelConfigText.parse("max_batch_size: 0\ninput [ { name: \"x\" dims: [ -1, 16 ] } ]")
        let result = try ModelConfigCompletion().complete(parsed, modelName: "dense", signature: dynamicSignature, backend: backend)
        #expect(result.io.maxBatchSize == 0)
        #expect(result.io.inputs.first?.shape == [-1, 16])
    }

    /// A config data type that contradicts the model names the field and both types.
    @Test func wrongDataTypeNamesTheField() throws {
        let parsed = try ModelConfigText.parse("max_batch_size: 8\ninput [ { name: \"x\" data_type: TYPE_INT32 dims: [ 16 ] } ]")
        let error = #expect(throws: SwerveError.self) {
            try ModelConfigCompletion().complete(parsed, modelName: "dense", signature: dynamicSignature, backend: backend)
        }
        #expect(error?.message.contains("input[0].data_type") == true)
        #expect(error?.message.contains("TYPE_FP32") == true)
    }

    /// An input name the model does not have names the field and lists the real inputs.
    @Test func unknownInputNameNamesTheField() throws {
        let parsed = try ModelConfigText.parse("input [ { name: \"INPUT\" data_type: TYPE_FP32 } ]")
        let error = #expect(throws: SwerveError.self) {
            try ModelConfigCompletion().complete(parsed, modelName: "dense", signature: dynamicSignature, backend: backend)
        }
        #expect(error?.message.contains("input[0].name") == true)
        #expect(error?.message.contains("'x'") == true)
    }

    /// Dims of the wrong rank (a misread max_batch_size) name the field and the expected dims.
    @Test func wrongRankNamesTheField() throws {
        let parsed = try ModelConfigText.parse("max_batch_size: 8\ninput [ { name: \"x\" data_type: TYPE_FP32 dims: [ -1, 16 ] } ]")
        let error = #expect(throws: SwerveError.self) {
            try ModelConfigCompletion().complete(parsed, modelName: "dense", signature: dynamicSignature, backend: backend)
        }
        #expect(error?.message.contains("input[0].dims") == true)
        #expect(error?.message.contains("[16]") == true)
    }

    /// A config name that differs from the folder name is refused.
    @Test func mismatchedNameIsRefused() throws {
        let parsed = try ModelConfigText.parse("name: \"other\"")
        let error = #expect(throws: SwerveError.self) {
            try ModelConfigCompletion().complete(parsed, modelName: "dense", signature: dynamicSignature, backend: backend)
        }
        #expect(error?.message.contains("'name'") == true)
    }

    /// max_batch_size on a model with a fixed first dimension is refused with the fix.
    @Test func batchingAFixedModelIsRefused() throws {
        let signature = ModelSignature(
            inputs: [TensorSpec(name: "X", dataType: .fp32, shape: [3, 2])],
            outputs: [TensorSpec(name: "Y", dataType: .fp32, shape: [3, 2])])
        let parsed = try ModelConfigText.parse("max_batch_size: 4")
        let error = #expect(throws: SwerveError.self) {
            try ModelConfigCompletion().complete(parsed, modelName: "mul", signature: signature, backend: backend)
        }
        #expect(error?.message.contains("max_batch_size") == true)
    }

    /// Config dims narrow a variable model dimension.
    @Test func configDimsNarrowVariableDimensions() throws {
        let signature = ModelSignature(
            inputs: [TensorSpec(name: "x", dataType: .fp32, shape: [-1, -1])],
            outputs: [TensorSpec(name: "y", dataType: .fp32, shape: [-1, -1])])
        let parsed = try ModelConfigText.parse("max_batch_size: 4\ninput [ { name: \"x\" dims: [ 8 ] } ]")
        let result = try ModelConfigCompletion().complete(parsed, modelName: "m", signature: signature, backend: backend)
        #expect(result.io.inputs.first?.shape == [-1, 8])
        #expect(result.io.outputs.first?.shape == [-1, -1])
    }
}
