import Foundation
import SwerveCore
import Testing

@testable import SwerveGRPC

/// `ModelInferRequest` to core requests and core responses to `ModelInferResponse`.
struct InferTranslationTests {
    func input(_ name: String, _ datatype: String, _ shape: [Int64], contents: Inference_InferTensorContents? = nil) -> Inference_ModelInferRequest.InferInputTensor {
        .with {
            $0.name = name
            $0.datatype = datatype
            $0.shape = shape
            if let contents { $0.contents = contents }
        }
    }

    func fp32Bytes(_ values: [Float]) -> Data {
        Data(values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    }

    func refusal(_ message: Inference_ModelInferRequest) throws -> SwerveError {
        try #require(throws: SwerveError.self) { try InferTranslation.request(from: message) }
    }

    /// Raw contents are taken as they are, one entry per input in input order.
    @Test func rawContentsAreTakenAsTheyAre() throws {
        let request = try InferTranslation.request(from: .with {
            $0.modelName = "m"
            $0.inputs = [input("a", "FP32", [1, 2]), input("b", "BYTES", [2])]
            $0.rawInputContents = [fp32Bytes([1.5, -2]), Data(BytesCodec.encode([Array("hi".utf8), []]))]
        })
        #expect(request.modelName == "m")
        #expect(request.modelVersion == nil)
        #expect(request.inputs.map(\.name) == ["a", "b"])
        #expect(request.inputs[0].tensor == Tensor(dataType: .fp32, shape: [1, 2], data: [UInt8](fp32Bytes([1.5, -2]))))
        #expect(request.inputs[1].tensor.data == BytesCodec.encode([Array("hi".utf8), []]))
    }

    /// Typed contents are used when there are no raw contents.
    @Test func typedContentsAreUsedWithoutRawContents() throws {
        let request = try InferTranslation.request(from: .with {
            $0.modelName = "m"
            $0.inputs = [input("a", "INT32", [2], contents: .with { $0.intContents = [7, -1] })]
        })
        #expect(request.inputs[0].tensor.data == [7, 0, 0, 0, 255, 255, 255, 255])
    }

    /// Raw contents must have one entry per input.
    @Test func rawContentsNeedOneEntryPerInput() throws {
        let error = try refusal(.with {
            $0.modelName = "m"
            $0.inputs = [input("a", "FP32", [1]), input("b", "FP32", [1])]
            $0.rawInputContents = [fp32Bytes([1])]
        })
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("1 entries") && error.message.contains("2 inputs"))
    }

    /// Raw and typed contents cannot be mixed in one request.
    @Test func rawAndTypedContentsDoNotMix() throws {
        let error = try refusal(.with {
            $0.modelName = "m"
            $0.inputs = [input("a", "FP32", [1], contents: .with { $0.fp32Contents = [1] })]
            $0.rawInputContents = [fp32Bytes([1])]
        })
        #expect(error.message.contains("raw_input_contents") && error.message.contains("fp32_contents"))
    }

    /// Raw contents whose size does not match shape and datatype are refused, naming the input.
    @Test func rawContentsMustMatchTheShape() throws {
        let error = try refusal(.with {
            $0.modelName = "m"
            $0.inputs = [input("a", "FP32", [1, 3])]
            $0.rawInputContents = [fp32Bytes([1, 2])]
        })
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("'a'") && error.message.contains("8 bytes"))
    }

    /// Raw BYTES contents with a length prefix pointing past the end are refused.
    @Test func malformedRawBytesAreRefused() throws {
        let error = try refusal(.with {
            $0.modelName = "m"
            $0.inputs = [input("s", "BYTES", [1])]
            $0.rawInputContents = [Data([9, 0, 0, 0, 65])]
        })
        #expect(error.message.contains("declares 9 bytes"))
    }

    /// Unknown datatypes, negative dimensions, bad versions and a missing model name are refused.
    @Test func malformedHeadersAreRefused() throws {
        #expect(try refusal(.with { $0.modelName = "m"; $0.inputs = [input("a", "FLOAT", [1])] }).message.contains("unknown datatype 'FLOAT'"))
        #expect(try refusal(.with { $0.modelName = "m"; $0.inputs = [input("a", "FP32", [-1])] }).message.contains("negative"))
        #expect(try refusal(.with { $0.modelName = "m"; $0.modelVersion = "x" }).message.contains("version 'x'"))
        #expect(try refusal(.with { $0.modelName = "m"; $0.modelVersion = "0" }).message.contains("version '0'"))
        #expect(try refusal(.init()).message.contains("model_name"))
    }

    /// Shared memory parameters are refused, since the server has no shared memory.
    @Test func sharedMemoryIsRefused() throws {
        let error = try refusal(.with {
            $0.modelName = "m"
            $0.inputs = [input("a", "FP32", [1]).with { $0.parameters["shared_memory_region"] = .with { $0.stringParam = "r" } }]
        })
        #expect(error.message.contains("shared memory"))
    }

    /// The id, version, request parameters and output parameters (classification as an integer) pass through.
    @Test func idVersionAndParametersPassThrough() throws {
        let request = try InferTranslation.request(from: .with {
            $0.modelName = "m"
            $0.modelVersion = "3"
            $0.id = "req-1"
            $0.parameters = ["priority": .with { $0.uint64Param = 2 }, "tag": .with { $0.stringParam = "t" }, "flag": .with { $0.boolParam = true }]
            $0.outputs = [.with { $0.name = "y"; $0.parameters = ["classification": .with { $0.int64Param = 3 }] }]
        })
        #expect(request.modelVersion == 3)
        #expect(request.id == "req-1")
        #expect(request.parameters == ["priority": .uint(2), "tag": .string("t"), "flag": .bool(true)])
        #expect(request.outputs == [InferenceRequest.RequestedOutput(name: "y", parameters: ["classification": .int(3)])])
    }

    /// Responses carry every output in raw_output_contents, in output order, and echo the id.
    @Test func responsesUseRawOutputContents() {
        let response = InferTranslation.message(from: InferenceResponse(
            modelName: "m", modelVersion: 2, id: "req-9", parameters: ["p": .double(0.5)],
            outputs: [
                NamedTensor(name: "y", tensor: Tensor(dataType: .int16, shape: [1, 2], data: [1, 0, 255, 255])),
                NamedTensor(name: "s", tensor: Tensor(dataType: .bytes, shape: [1], data: BytesCodec.encode([Array("ok".utf8)]))),
            ]))
        #expect(response.modelName == "m")
        #expect(response.modelVersion == "2")
        #expect(response.id == "req-9")
        #expect(response.parameters["p"]?.doubleParam == 0.5)
        #expect(response.outputs.map(\.name) == ["y", "s"])
        #expect(response.outputs.map(\.datatype) == ["INT16", "BYTES"])
        #expect(response.outputs[0].shape == [1, 2])
        #expect(!response.outputs[0].hasContents)
        #expect(response.rawOutputContents == [Data([1, 0, 255, 255]), Data([2, 0, 0, 0]) + Data("ok".utf8)])
    }
}

extension Inference_ModelInferRequest.InferInputTensor {
    /// A copy changed by `change`.
    func with(_ change: (inout Self) -> Void) -> Self {
        var copy = self
        change(&copy)
        return copy
    }
}
