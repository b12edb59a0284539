import HummingbirdCore
import SwerveCore
import SwerveImage
import SwerveGRPC
@testable import SwerveHTTP

/// libFuzzer target: the readers of short request text that are not bodies. The input is taken as
/// a request URI and as a header value:
/// - the URI's path and query parameters as Hummingbird splits them, each value through the
///   core's model-version reader (``ModelVersionText``), and all of them as config `parameters` through
///   the image pipeline's and the classification post-processing's readers;
/// - the text as `Inference-Header-Content-Length`, `Accept-Encoding` and a multipart `Content-Type`.
/// (`@testable`: `Compression` and `MultipartBody` are internal to SwerveHTTP; `make fuzz` builds
/// debug, where testing is enabled.)
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParameterText(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let uri = URI(text)
    _ = uri.path
    var parameters: [String: String] = [:]
    for (key, value) in uri.queryParameters {
        _ = try? ModelVersionText.parse(String(value), model: "fuzz")
        parameters[String(key)] = String(value)
    }
    _ = try? ImagePipeline(parameters: parameters)
    _ = try? ClassificationPostprocessing(configParameters: parameters)
    _ = try? ModelVersionText.parse(text, model: "fuzz")
    _ = try? InferRequestBody.headerLength(field: text, bodyCount: 1 << 20)
    _ = Compression.preferred(acceptEncoding: text)
    _ = try? MultipartBody.boundary(contentType: text)
    return 0
}
