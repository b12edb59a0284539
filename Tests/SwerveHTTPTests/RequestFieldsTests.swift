import HTTPTypes
import Testing

@testable import SwerveHTTP

/// The one-pass read of a request's fields gives what `HTTPFields`' subscript gives, repeated
/// fields included, whatever the names' case.
struct RequestFieldsTests {
    @Test func readsTheSameValuesAsTheFieldsSubscript() {
        let fields: HTTPFields = [
            HTTPField.Name("CONTENT-LENGTH")!: "12", .contentEncoding: "gzip", .acceptEncoding: "br", .userAgent: "u",
            .contentEncoding: "identity", HTTPField.Name("inference-header-content-length")!: "7", .connection: "Close",
            .transferEncoding: "chunked", .acceptEncoding: "gzip",
        ]
        let read = RequestFields(fields)
        #expect(read.contentLength == fields[.contentLength])
        #expect(read.contentEncoding == fields[.contentEncoding])
        #expect(read.contentEncoding == "gzip, identity")
        #expect(read.acceptEncoding == fields[.acceptEncoding])
        #expect(read.transferEncoding == fields[.transferEncoding])
        #expect(read.connection == fields[.connection])
        #expect(read.inferenceHeaderContentLength == "7")
        #expect(read.asksToClose)
        let none = RequestFields([.userAgent: "u"])
        #expect(none.contentLength == nil && none.contentEncoding == nil && none.inferenceHeaderContentLength == nil && !none.asksToClose)
    }
}
