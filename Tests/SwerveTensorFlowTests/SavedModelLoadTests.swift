import Foundation
import SwerveCore
import SwerveTensorFlow
import Testing

/// Which signature is served, what the configuration completes to, and what a broken SavedModel
/// gives instead of a crash.
@Suite(.enabled(if: TFFixture.runsTFTests))
struct SavedModelLoadTests {
    @Test func servingDefaultIsServedWhenTheConfigNamesNoSignature() throws {
        let instance = try TFFixture.load("two_signatures")
        #expect(instance.signature.inputs == [TensorSpec(name: "x", dataType: .fp32, shape: [-1, 2])])
        #expect(instance.signature.outputs == [TensorSpec(name: "doubled", dataType: .fp32, shape: [-1, 2])])
        let reference = try TFReference(model: "two_signatures")
        #expect(try instance.run(inputs: reference.inputs, outputs: ["doubled"]) == reference.outputs)
    }

    @Test(arguments: ["signature_def", "TF_SIGNATURE_DEF"])
    func theConfigParameterPicksAnotherSignature(parameter: String) throws {
        let instance = try TFFixture.load("two_signatures", config: TFFixture.config(parameter: parameter, "plus_one"))
        #expect(instance.signature.inputs == [TensorSpec(name: "a", dataType: .int64, shape: [-1])])
        #expect(instance.signature.outputs == [TensorSpec(name: "a_plus_one", dataType: .int64, shape: [-1])])
        let reference = try TFReference(model: "two_signatures", folder: "reference_plus_one")
        #expect(try instance.run(inputs: reference.inputs, outputs: ["a_plus_one"]) == reference.outputs)
    }

    @Test func aMissingSignatureFailsTheLoadListingTheOthers() throws {
        let error = try #require(throws: SwerveError.self) {
            try TFFixture.load("two_signatures", config: TFFixture.config(parameter: "signature_def", "predict"))
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasPrefix("failed to load TensorFlow SavedModel at \(try TFFixture.savedModel("two_signatures")): "))
        #expect(error.message.contains("has no signature 'predict' for tag 'serve'; it has 'plus_one', 'serving_default'"))
        #expect(!error.message.contains("__saved_model_init_op"))
    }

    @Test func twoParametersNamingDifferentSignaturesAreRefused() throws {
        var config = TFFixture.config(parameter: "signature_def", "plus_one")
        config.parameters["TF_SIGNATURE_DEF"] = TFFixture.config(parameter: "x", "serving_default").parameters["x"]
        let error = try #require(throws: SwerveError.self) { try TFFixture.load("two_signatures", config: config) }
        #expect(error.message.contains("name different signatures"))
    }

    @Test func aVariableFirstDimensionMakesTheModelBatch() throws {
        let dense = try TFFixture.load("dense")
        let completed = try ModelConfigCompletion().complete(nil, modelName: "dense", signature: dense.signature, backend: TFFixture.backend)
        #expect(completed.config.platform == "tensorflow_savedmodel")
        #expect(completed.config.backend == "tensorflow")
        #expect(completed.config.defaultModelFilename == "model.savedmodel")
        #expect(completed.config.maxBatchSize == 64)
        #expect(completed.config.input.map(\.dims) == [[4]])
        #expect(completed.config.output.map(\.dims) == [[3]])
        // A scalar output (`total`) has no batch dimension, so the dtypes model cannot batch.
        let dtypes = try TFFixture.load("dtypes")
        let unbatched = try ModelConfigCompletion().complete(nil, modelName: "dtypes", signature: dtypes.signature, backend: TFFixture.backend)
        #expect(unbatched.config.maxBatchSize == 0)
        #expect(unbatched.config.input.first { $0.name == "text" }?.dataType == .typeString)
    }

    @Test func aMissingFolderIsAnInvalidArgumentNamingIt() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-tf-\(UUID().uuidString)/model.savedmodel").path
        let error = try #require(throws: SwerveError.self) {
            try TFFixture.backend.loadInstance(modelPath: path, options: InstanceOptions())
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasPrefix("failed to load TensorFlow SavedModel at \(path): "))
    }

    /// Ways to damage `saved_model.pb`.
    enum Damage: String, CaseIterable {
        case text, truncated, scrambled, empty
    }

    @Test(arguments: Damage.allCases)
    func aCorruptSavedModelFileIsAClearError(damage: Damage) throws {
        try TFFixture.withCopyOfSavedModel("dense") { path in
            let file = URL(fileURLWithPath: path + "/saved_model.pb")
            let original = try Data(contentsOf: file)
            let damaged: Data = switch damage {
            case .text: Data("this is not a protocol buffer".utf8)
            case .truncated: original.prefix(original.count / 2)
            case .scrambled: Data(original.enumerated().map { $0.offset % 7 == 3 ? ~$0.element : $0.element })
            case .empty: Data()
            }
            try damaged.write(to: file)
            let error = try #require(throws: SwerveError.self) {
                try TFFixture.backend.loadInstance(modelPath: path, options: InstanceOptions())
            }
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("failed to load TensorFlow SavedModel at \(path): "))
        }
    }

    @Test(arguments: ["variables.index", "variables.data-00000-of-00001"])
    func aDamagedVariablesFileIsAClearError(file: String) throws {
        try TFFixture.withCopyOfSavedModel("dense") { path in
            try Data("xx".utf8).write(to: URL(fileURLWithPath: path + "/variables/" + file))
            let error = try #require(throws: SwerveError.self) {
                try TFFixture.backend.loadInstance(modelPath: path, options: InstanceOptions())
            }
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("failed to load TensorFlow SavedModel at \(path): "))
        }
    }

    /// TensorFlow loads a SavedModel without `variables/` as one that has no variables; its runs
    /// then fail with TensorFlow's message.
    @Test func missingVariablesFailEachRun() throws {
        try TFFixture.withCopyOfSavedModel("dense") { path in
            try FileManager.default.removeItem(atPath: path + "/variables")
            let instance = try TFFixture.backend.loadInstance(modelPath: path, options: InstanceOptions())
            let x = NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, 4], data: [UInt8](repeating: 0, count: 16)))
            let error = try #require(throws: SwerveError.self) { try instance.run(inputs: [x], outputs: ["y"]) }
            #expect(error.code == .modelFailed)
            #expect(error.message.contains("Could not find variable w"))
        }
    }

    @Test func theLibraryReportsItsVersionAndPath() throws {
        #expect(TFFixture.backend.version == "2.21.0")
        #expect(TFFixture.backend.libraryPath?.hasSuffix("/tensorflow/libtensorflow_cc.so.2") == true)
    }
}

/// A signature whose tensors have unknown rank, and an output of a type KServe lacks.
@Suite(.enabled(if: TFFixture.runsTFTests))
struct UnknownRankSignatureTests {
    @Test func anInputOfUnknownRankNeedsItsDimsInTheConfig() throws {
        let error = try #require(throws: SwerveError.self) { try TFFixture.load("unknown_rank") }
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasSuffix(
            "input 'x' of signature 'serving_default' has unknown rank; list its dims in config.pbtxt to serve it; Swerve serves only dense tensor inputs"))
    }

    @Test func configDimsGiveTheRankAndUnsupportedOutputsAreLeftOut() throws {
        var config = Inference_ModelConfig()
        var input = Inference_ModelInput()
        input.name = "x"
        input.dims = [3]
        config.input = [input]
        let instance = try TFFixture.load("unknown_rank", config: config)
        #expect(instance.signature.inputs == [TensorSpec(name: "x", dataType: .fp32, shape: [3])])
        // `doubled` has unknown rank and no dims in the config; `as_complex` is COMPLEX64.
        #expect(instance.signature.outputs == [])
        #expect(instance.signature.unsupportedOutputs.map(\.name) == ["as_complex", "doubled"])
        #expect(instance.signature.unsupportedOutputs[0].reason.contains("DT_COMPLEX64, which has no KServe equivalent"))
        #expect(instance.signature.unsupportedOutputs[1].reason.contains("unknown rank"))

        var output = Inference_ModelOutput()
        output.name = "doubled"
        output.dims = [3]
        config.output = [output]
        let served = try TFFixture.load("unknown_rank", config: config)
        #expect(served.signature.outputs == [TensorSpec(name: "doubled", dataType: .fp32, shape: [3])])
        let reference = try TFReference(model: "unknown_rank")
        #expect(try served.run(inputs: reference.inputs, outputs: ["doubled"]) == reference.outputs)
        let refused = try #require(throws: SwerveError.self) { try served.run(inputs: reference.inputs, outputs: ["as_complex"]) }
        #expect(refused.message.hasPrefix("output 'as_complex' cannot be served: "))
    }

    @Test func withBatchingTheConfigDimsFollowTheBatchDimension() throws {
        var config = Inference_ModelConfig()
        config.maxBatchSize = 4
        var input = Inference_ModelInput()
        input.name = "x"
        input.dims = [3]
        config.input = [input]
        let instance = try TFFixture.load("unknown_rank", config: config)
        #expect(instance.signature.inputs == [TensorSpec(name: "x", dataType: .fp32, shape: [-1, 3])])
    }
}
