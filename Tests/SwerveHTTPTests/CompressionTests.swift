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

    /// A gzip or deflate body whose stream is cut short (its checksum trailer missing or partial)
    /// or followed by other bytes is a 400, never a 200 for the part that inflated.
    @Test(arguments: ["gzip", "deflate"])
    func cutOrPaddedStreamsAreRefused(coding: String) throws {
        let text = Array(String(repeating: "{\"inputs\": [1, 2, 3]} ", count: 40).utf8)
        var buffer = ByteBuffer(bytes: text)
        let whole = Array(try buffer.compress(with: coding == "gzip" ? .gzip() : .zlib()).readableBytesView)
        #expect(try Compression.decompress(whole, contentEncoding: coding, limit: 1 << 20) == text)
        let broken = [Array(whole.dropLast(1)), Array(whole.dropLast(4)), Array(whole.dropLast(whole.count / 2)),
                      whole + [0], whole + Array("garbage".utf8), whole + whole]
        for body in broken {
            #expect {
                try Compression.decompress(body, contentEncoding: coding, limit: 1 << 20)
            } throws: { ($0 as? SwerveError)?.code == .invalidArgument }
        }
    }
}
