@testable import SwerveHTTP

/// libFuzzer target: a compressed request body as `Content-Encoding` makes the KServe routes read
/// it, through `Compression.decompress(_:contentEncoding:limit:)`. The first byte picks the
/// encoding (even: `gzip`, odd: `deflate`); the rest is the body. The limit is 4 MiB (the server's
/// is `--max-request-size`, 64 MiB by default) so that bombs are refused quickly.
/// (`@testable`: `Compression` is internal to SwerveHTTP; `make fuzz` builds debug, where testing is enabled.)
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecompress(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let first = input.first else { return 0 }
    let encoding = first % 2 == 0 ? "gzip" : "deflate"
    _ = try? Compression.decompress(Array(input.dropFirst()), contentEncoding: encoding, limit: 4 << 20)
    return 0
}
