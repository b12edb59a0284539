import SwerveCore
import SwerveImage
import SwerveTesting

/// libFuzzer target: a `config.pbtxt` (from the repository, or a load request's config override)
/// as a model load reads it: ``ModelConfigText/parse(_:)``, the version policy, the completion
/// against a model's signature (``ModelConfigCompletion``), the batch policy, and the image
/// pipeline and classification parameters taken from `parameters`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let parsed = try? ModelConfigText.parse(text) else { return 0 }
    _ = VersionPolicy(parsed.config.versionPolicy).select(from: [1, 2, 3, 7])
    let name = parsed.config.name.isEmpty ? "fuzz" : parsed.config.name
    guard let completed = try? ModelConfigCompletion().complete(parsed, modelName: name, signature: signature, backend: backend) else {
        return 0
    }
    _ = BatchPolicy(completed.config)
    let parameters = completed.config.parameters.mapValues(\.stringValue)
    _ = try? ImagePipeline(parameters: parameters)
    _ = try? ClassificationPostprocessing(configParameters: parameters)
    return 0
}

/// The model the configuration is completed against: a batched FP32 tensor in and out, and an image input.
let signature = ModelSignature(
    inputs: [
        TensorSpec(name: "x", dataType: .fp32, shape: [-1, 4]),
        TensorSpec(name: "image", dataType: .fp32, shape: [-1, 3, 224, 224]),
    ],
    outputs: [TensorSpec(name: "y", dataType: .fp32, shape: [-1, 4])])

/// A backend for the completion's names and defaults; nothing is loaded.
let backend = FakeBackend(models: [:])
