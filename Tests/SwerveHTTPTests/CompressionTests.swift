import CompressNIO
import NIOCore
import SwerveCore
import Testing

@testable import SwerveHTTP

/// Request bodies are inflated exactly up to the limit: one byte more is a 413, never a body cut
/// to the limit.
struct CompressionTests {
    func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        var buffer = ByteBuffer(bytes: bytes)
        return Array(try buffer.compress(with: .gzip()).readableBytesView)
    }

    @Test(arguments: [1, 1000, 1 << 16])
    func oneByteOverTheLimitIsRefused(limit: Int) throws {
        let atLimit = [UInt8](repeating: UInt8(ascii: "a"), count: limit)
        #expect(try Compression.decompress(try gzip(atLimit), contentEncoding: "gzip", limit: limit) == atLimit)
        let over = try gzip(atLimit + [UInt8(ascii: "b")])
        #expect {
            try Compression.decompress(over, contentEncoding: "gzip", limit: limit)
        } throws: { ($0 as? SwerveError)?.code == .payloadTooLarge }
        #expect {
            try Compression.decompress(try gzip(over), contentEncoding: "gzip, x-gzip", limit: limit)
        } throws: { ($0 as? SwerveError)?.code == .payloadTooLarge }
    }

    @Test func stackedCodingsAreUndoneLastFirst() throws {
        let text = Array("{\"inputs\": []}".utf8)
        var deflated = ByteBuffer(bytes: text)
        let zlib = Array(try deflated.compress(with: .zlib()).readableBytesView)
        #expect(try Compression.decompress(try gzip(zlib), contentEncoding: "deflate, gzip", limit: 1 << 20) == text)
        #expect(throws: (any Error).self) { try Compression.decompress(try gzip(zlib), contentEncoding: "gzip, deflate", limit: 1 << 20) }
    }
}
