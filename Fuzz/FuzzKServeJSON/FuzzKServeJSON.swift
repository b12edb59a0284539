import SwerveCore
import SwerveTesting
import SwerveHTTP

/// libFuzzer target: a KServe v2 JSON inference request (the whole body is the JSON header), as
/// `POST /v2/models/{m}/infer` reads it: ``InferRequestBody/split(_:headerLength:)`` (JSON
/// tensors flat or nested, every datatype, parameters), then the core's request validation against
/// a model with INT32, FP32 and BYTES inputs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKServeJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    guard let split = try? InferRequestBody.split(body, headerLength: body.count) else { return 0 }
    _ = try? RequestValidator.validate(InferenceRequest(modelName: "fuzz", inputs: split.inputs), against: FixtureModelIO.threeInputs, modelName: "fuzz")
    return 0
}
