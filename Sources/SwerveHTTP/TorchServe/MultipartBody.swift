import SwerveCore

/// The parts of a `multipart/form-data` body (RFC 7578 over RFC 2046's framing), parsed by Swerve
/// itself: every byte sequence either parses or throws `invalidArgument`, none traps (MultipartKit
/// trapped on a non-ASCII byte in a part-header name).
///
/// The body is a preamble, then parts each opened by `--boundary` and a line break, a header block
/// ended by an empty line and the part's content, and finally `--boundary--`. Line breaks are CRLF
/// (a bare LF is accepted too, as curl and most servers are lenient there); anything after the
/// closing delimiter (the epilogue) is ignored.
enum MultipartBody {
    /// One part: its form field name and its bytes.
    struct Part: Equatable {
        var name: String?
        var bytes: [UInt8]
    }

    /// The most parts one body may hold.
    static let defaultMaxParts = 1024
    /// The most header lines one part may have.
    static let maxHeaderLines = 64
    /// The longest header block of one part, in bytes.
    static let maxHeaderBytes = 16 * 1024

    /// The boundary of a multipart Content-Type, or nil when the body is not multipart.
    /// - Throws: `invalidArgument` when the type is multipart but the boundary is missing or not
    ///   1 to 70 of RFC 2046's boundary characters.
    static func boundary(contentType: String?) throws -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingWhitespace() }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard (1...70).contains(value.utf8.count), value.utf8.allSatisfy(isBoundaryCharacter), value.utf8.last != UInt8(ascii: " ") else {
                throw SwerveError.invalid("the multipart boundary must be 1 to 70 letters, digits or '()+_,-./:=? ' (RFC 2046)")
            }
            return value
        }
        throw SwerveError.invalid("the multipart Content-Type has no boundary parameter")
    }

    /// Parses the parts of a body.
    /// - Throws: `invalidArgument` naming what is malformed.
    ///   A body of more than `maxParts` parts (`--max-multipart-parts`) is refused the same way.
    static func parse(_ body: [UInt8], boundary: String, maxParts: Int = defaultMaxParts) throws -> [Part] {
        let dashBoundary = Array("--".utf8) + Array(boundary.utf8)
        guard !boundary.isEmpty else { throw SwerveError.invalid("the multipart boundary is empty") }
        // The first delimiter may start the body; later ones follow a line break.
        var position: Int
        if body.starts(with: dashBoundary) {
            position = dashBoundary.count
        } else if let found = find(delimiterOf: dashBoundary, in: body, from: 0) {
            position = found.end
        } else {
            throw SwerveError.invalid("the multipart/form-data body is malformed: no '--\(boundary)' delimiter")
        }
        var parts: [Part] = []
        while true {
            // After a delimiter: "--" closes the body, else transport padding and a line break.
            if body.count - position >= 2, body[position] == UInt8(ascii: "-"), body[position + 1] == UInt8(ascii: "-") {
                return parts
            }
            while position < body.count, body[position] == UInt8(ascii: " ") || body[position] == UInt8(ascii: "\t") { position += 1 }
            guard let afterBreak = lineBreak(in: body, at: position) else {
                throw SwerveError.invalid("the multipart/form-data body is malformed: a delimiter is not followed by a line break or '--' (is the body cut short?)")
            }
            guard parts.count < maxParts else {
                throw SwerveError.invalid("the multipart/form-data body has more than the limit of \(maxParts) parts (--max-multipart-parts)")
            }
            let (headers, contentStart) = try parseHeaders(body, from: afterBreak)
            guard let next = find(delimiterOf: dashBoundary, in: body, from: contentStart) else {
                throw SwerveError.invalid("the multipart/form-data body is malformed: part \(parts.count + 1) has no closing '--\(boundary)' delimiter (is the body cut short?)")
            }
            let disposition = headers.first { $0.name == "content-disposition" }?.value
            parts.append(Part(name: disposition.flatMap(fieldName), bytes: Array(body[contentStart..<next.start])))
            position = next.end
        }
    }

    /// Reads a part's header lines from `start`; returns them (names lowercased) and where the
    /// content starts, after the empty line.
    private static func parseHeaders(_ body: [UInt8], from start: Int) throws -> ([(name: String, value: String)], Int) {
        var headers: [(name: String, value: String)] = []
        var position = start
        while true {
            guard position - start <= maxHeaderBytes, headers.count <= maxHeaderLines else {
                throw SwerveError.invalid("the multipart/form-data body has a part with more than \(maxHeaderLines) header lines or \(maxHeaderBytes) bytes of headers")
            }
            if let afterBreak = lineBreak(in: body, at: position) { return (headers, afterBreak) }
            guard let end = body[position...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw SwerveError.invalid("the multipart/form-data body is malformed: a part's headers do not end with an empty line")
            }
            let line = body[position..<(end > position && body[end - 1] == UInt8(ascii: "\r") ? end - 1 : end)]
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[line.startIndex..<colon].allSatisfy(isTokenCharacter) else {
                throw SwerveError.invalid("the multipart/form-data body is malformed: a part header line is not 'Name: value' with an ASCII token name")
            }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
            let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingWhitespace()
            headers.append((name, value))
            position = end + 1
        }
    }

    /// The next delimiter (a line break, then `dashBoundary`) at or after `from`: where its line
    /// break starts and where the delimiter ends.
    private static func find(delimiterOf dashBoundary: [UInt8], in body: [UInt8], from: Int) -> (start: Int, end: Int)? {
        var index = from
        while index < body.count, let newline = body[index...].firstIndex(of: UInt8(ascii: "\n")) {
            let candidate = newline + 1
            if body.count - candidate >= dashBoundary.count, body[candidate..<(candidate + dashBoundary.count)].elementsEqual(dashBoundary) {
                let start = newline > from && body[newline - 1] == UInt8(ascii: "\r") ? newline - 1 : newline
                return (start, candidate + dashBoundary.count)
            }
            index = candidate
        }
        return nil
    }

    /// The index after a CRLF or LF at `position`, or nil when there is none there.
    private static func lineBreak(in body: [UInt8], at position: Int) -> Int? {
        if position < body.count, body[position] == UInt8(ascii: "\n") { return position + 1 }
        if body.count - position >= 2, body[position] == UInt8(ascii: "\r"), body[position + 1] == UInt8(ascii: "\n") { return position + 2 }
        return nil
    }

    /// The `name="..."` of a Content-Disposition header.
    private static func fieldName(_ disposition: String) -> String? {
        for parameter in disposition.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingWhitespace() }
            if pair.count == 2, pair[0].lowercased() == "name" {
                var value = pair[1]
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                return value
            }
        }
        return nil
    }

    /// RFC 7230's `tchar`: the bytes a header name may hold.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    /// RFC 2046's `bchars`.
    private static func isBoundaryCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("'()+_,-./:=? ".utf8).contains(byte)
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
