import SwerveCore
import Testing

@testable import SwerveHTTP

/// Swerve's own multipart/form-data parser: real bodies parse, hostile ones throw, none traps.
struct MultipartBodyTests {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func curlStyleBodyWithTwoFilesParses() throws {
        let body = bytes("--XyZ\r\nContent-Disposition: form-data; name=\"data\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
            + [0xFF, 0xD8, 0x0D, 0x0A, 0x2D, 0x2D, 0xFF, 0xD9]  // CRLF "--" inside the content is not a delimiter
            + bytes("\r\n--XyZ\r\nContent-Disposition: form-data; name=body\r\n\r\nsecond\r\n--XyZ--\r\nepilogue")
        let parts = try MultipartBody.parse(body, boundary: "XyZ")
        #expect(parts == [
            .init(name: "data", bytes: [0xFF, 0xD8, 0x0D, 0x0A, 0x2D, 0x2D, 0xFF, 0xD9]),
            .init(name: "body", bytes: bytes("second")),
        ])
    }

    @Test func preambleAndBareLineFeedsAreAccepted() throws {
        let parts = try MultipartBody.parse(bytes("preamble\n--b\nContent-Disposition: form-data; name=\"x\"\n\n123\n--b--"), boundary: "b")
        #expect(parts == [.init(name: "x", bytes: bytes("123"))])
    }

    /// The body that made MultipartKit trap: a non-ASCII byte in a part-header name.
    @Test func nonASCIIHeaderNameIsRefused() {
        let body: [UInt8] = bytes("--B\r\nX") + [0xFF] + bytes(": v\r\n\r\nx\r\n--B--\r\n")
        #expect(throws: SwerveError.self) { try MultipartBody.parse(body, boundary: "B") }
    }

    @Test(arguments: [
        "",  // empty
        "--B",  // a delimiter and nothing after it
        "--B\r\nContent-Disposition: form-data; name=a\r\n\r\nunfinished",  // cut short
        "--B\r\nno colon here\r\n\r\nx\r\n--B--",  // header line without a name
        "--B\r\n: empty name\r\n\r\nx\r\n--B--",
        "--B\r\nA: b",  // headers never end
        "--Bjunk\r\n\r\nx\r\n--B--",  // no line break after the delimiter
        "no delimiter at all",
    ])
    func malformedBodiesThrow(_ text: String) {
        #expect(throws: SwerveError.self) { try MultipartBody.parse(bytes(text), boundary: "B") }
    }

    @Test func tooManyPartsAreRefused() throws {
        let part = "--B\r\nContent-Disposition: form-data; name=data\r\n\r\nx\r\n"
        let body = bytes(String(repeating: part, count: MultipartBody.defaultMaxParts + 1) + "--B--\r\n")
        #expect(throws: SwerveError.self) { try MultipartBody.parse(body, boundary: "B") }
        let fewer = bytes(String(repeating: part, count: 3) + "--B--\r\n")
        #expect(try MultipartBody.parse(fewer, boundary: "B").count == 3)
    }

    @Test func boundaryIsReadFromTheContentType() throws {
        #expect(try MultipartBody.boundary(contentType: "multipart/form-data; boundary=\"a b'c\"") == "a b'c")
        #expect(try MultipartBody.boundary(contentType: "image/jpeg") == nil)
        #expect(try MultipartBody.boundary(contentType: nil) == nil)
        for bad in ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\u{e9}",
                    "multipart/form-data; boundary=" + String(repeating: "a", count: 71)] {
            #expect(throws: SwerveError.self) { try MultipartBody.boundary(contentType: bad) }
        }
    }

    /// Every prefix and every one-byte change of a valid body parses or throws the core's error;
    /// none traps. Prefixes cut inside the last part are refused.
    @Test func truncationsAndFlippedBytesNeverTrap() throws {
        let body = bytes("--B\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nabc\r\n--B\r\nContent-Disposition: form-data; name=body\r\n\r\n\r\n--B--\r\n")
        var refused = 0
        func parse(_ candidate: [UInt8]) throws {
            do {
                _ = try MultipartBody.parse(candidate, boundary: "B")
            } catch is SwerveError {
                refused += 1
            }
        }
        for end in 0...body.count { try parse(Array(body[..<end])) }
        #expect(refused >= body.count - 8)  // only prefixes ending in the closing "--\r\n" parse
        for index in body.indices {
            for value: UInt8 in [0x00, 0x0A, 0x0D, 0x2D, 0x3A, 0x80, 0xFF] {
                var changed = body
                changed[index] = value
                try parse(changed)
            }
        }
    }
}
