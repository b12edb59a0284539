@testable import SwerveHTTP

/// libFuzzer target: a `multipart/form-data` body as TorchServe's `/predictions/{m}` reads it.
/// The input is the Content-Type header's text, a newline, then the body: the boundary comes from
/// `MultipartBody.boundary(contentType:)` and the body goes through `MultipartBody.parse(_:boundary:)`.
/// (`@testable`: both are internal to SwerveHTTP; `make fuzz` builds debug, where testing is enabled.)
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let newline = input.firstIndex(of: UInt8(ascii: "\n")) else { return 0 }
    let contentType = String(decoding: input[..<newline], as: UTF8.self)
    let body = Array(input[(newline + 1)...])
    guard let boundary = try? MultipartBody.boundary(contentType: contentType) else { return 0 }
    _ = try? MultipartBody.parse(body, boundary: boundary)
    return 0
}
