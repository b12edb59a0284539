import Testing

@testable import SwerveHTTP

/// How `Accept-Encoding` and `Content-Encoding` values are read.
struct CompressionTests {
    /// List elements lose HTTP's optional whitespace (spaces and tabs) and their case.
    @Test func tokensLoseSurroundingWhitespaceAndCase() {
        #expect(Compression.token(" \tGZip \t") == "gzip")
        #expect(Compression.token("q=0.5") == "q=0.5")
        #expect(Compression.token(" \t ") == "")
        #expect(Compression.token("") == "")
        #expect(Compression.token("x gzip") == "x gzip")
    }

    /// The preferred answer encoding honours q-values, case and whitespace; identity and
    /// unknown codings are never chosen.
    @Test func acceptEncodingPicksTheHighestQuality() {
        #expect(Compression.preferred(acceptEncoding: nil) == nil)
        #expect(Compression.preferred(acceptEncoding: "identity") == nil)
        #expect(Compression.preferred(acceptEncoding: "GZIP") == .gzip)
        #expect(Compression.preferred(acceptEncoding: " gzip ;q=0.5, deflate\t; q=0.8") == .deflate)
        #expect(Compression.preferred(acceptEncoding: "gzip;q=0, br") == nil)
        #expect(Compression.preferred(acceptEncoding: "deflate;q=0.1,gzip") == .gzip)
    }
}
