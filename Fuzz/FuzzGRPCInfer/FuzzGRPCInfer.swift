import SwerveCore
import SwerveTesting
import SwerveGRPC

/// libFuzzer target: a gRPC `ModelInfer` message as `GRPCInferenceService` reads it: the protobuf
/// decoding of `ModelInferRequest` (SwiftProtobuf, as grpc-swift-protobuf's deserializer does it),
/// ``InferTranslation/request(from:)`` (version text, shapes, typed `contents` or
/// `raw_input_contents`, parameters), then the core's request validation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGRPCInfer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let message = try? Inference_ModelInferRequest(serializedBytes: bytes),
          let request = try? InferTranslation.request(from: message)
    else { return 0 }
    _ = try? RequestValidator.validate(request, against: FixtureModelIO.threeInputs, modelName: "fuzz")
    return 0
}
