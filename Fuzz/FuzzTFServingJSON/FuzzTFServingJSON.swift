import SwerveCore
import SwerveHTTP

/// libFuzzer target: a TensorFlow Serving `:predict` body as `POST /v1/models/{m}:predict` reads
/// it: ``TFServingPredictRequest/parse(_:io:imageInput:)`` (nesting bound, `NaN` / `Infinity` /
/// `-Infinity` token marking, JSON, row and columnar formats, `{"b64": ...}`), once against a
/// one-input model and once against a model with several inputs of every kind of type.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTFServingJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? TFServingPredictRequest.parse(body, io: oneInput, imageInput: nil)
    _ = try? TFServingPredictRequest.parse(body, io: severalInputs, imageInput: "image")
    return 0
}

/// A model with one FP32 input.
let oneInput = ModelIO(
    maxBatchSize: 8, inputs: [TensorSpec(name: "x", dataType: .fp32, shape: [-1, 4])],
    outputs: [TensorSpec(name: "y", dataType: .fp32, shape: [-1, 4])])

/// A model with inputs of each kind the converter handles; `image` takes encoded images, `s` is optional.
let severalInputs = ModelIO(
    maxBatchSize: 8,
    inputs: [
        TensorSpec(name: "f", dataType: .fp16, shape: [-1, 2]),
        TensorSpec(name: "b", dataType: .bool, shape: [-1]),
        TensorSpec(name: "i", dataType: .int8, shape: [-1, -1]),
        TensorSpec(name: "u", dataType: .uint64, shape: [-1]),
        TensorSpec(name: "h", dataType: .bf16, shape: [-1]),
        TensorSpec(name: "s", dataType: .bytes, shape: [-1]),
        TensorSpec(name: "image", dataType: .fp32, shape: [-1, 3, 224, 224]),
    ],
    outputs: [TensorSpec(name: "y", dataType: .fp32, shape: [-1])],
    optionalInputs: ["s", "image"])
