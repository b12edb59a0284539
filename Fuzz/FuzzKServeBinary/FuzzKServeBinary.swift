import SwerveCore
import SwerveTesting
import SwerveHTTP

/// libFuzzer target: a KServe v2 request with Triton's binary tensor extension. The input is the
/// `Inference-Header-Content-Length` field's text, a newline, then the body; it goes through
/// ``InferRequestBody/headerLength(field:bodyCount:)`` and ``InferRequestBody/split(_:headerLength:)``
/// (JSON header, then each input's `binary_data_size` bytes), then the core's request validation.
/// A first line of `-` means no field (the whole body is JSON).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKServeBinary(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let newline = input.firstIndex(of: UInt8(ascii: "\n")) else { return 0 }
    let fieldText = String(decoding: input[..<newline], as: UTF8.self)
    let body = Array(input[(newline + 1)...])
    let field: String? = fieldText == "-" ? nil : fieldText
    guard let headerLength = try? InferRequestBody.headerLength(field: field, bodyCount: body.count) else { return 0 }
    // 0 with a field is the raw binary request: the body is one input's bytes, not parsed here.
    if headerLength == 0, field != nil { return 0 }
    guard let split = try? InferRequestBody.split(body, headerLength: headerLength) else { return 0 }
    _ = try? RequestValidator.validate(InferenceRequest(modelName: "fuzz", inputs: split.inputs), against: FixtureModelIO.threeInputs, modelName: "fuzz")
    return 0
}
