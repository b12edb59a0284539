import Foundation
import MultipartKit
import NIOCore
import SwerveCore

/// The files of a `multipart/form-data` body, parsed with MultipartKit.
enum MultipartBody {
    /// One part: its form field name and its bytes.
    struct Part {
        var name: String?
        var bytes: [UInt8]
    }

    /// The boundary of a multipart Content-Type, or nil when the body is not multipart.
    static func boundary(contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }

    /// Parses the parts of a body.
    /// - Throws: `invalidArgument` for a malformed body.
    static func parse(_ body: [UInt8], boundary: String) throws -> [Part] {
        let parser = MultipartParser(boundary: boundary)
        var parts: [Part] = []
        var headers: [(String, String)] = []
        var bytes: [UInt8] = []
        parser.onHeader = { headers.append(($0, $1)) }
        parser.onBody = { bytes.append(contentsOf: $0.readableBytesView) }
        parser.onPartComplete = {
            let disposition = headers.first { $0.0.lowercased() == "content-disposition" }?.1
            parts.append(Part(name: disposition.flatMap(fieldName), bytes: bytes))
            headers = []
            bytes = []
        }
        do {
            try parser.execute(body)
        } catch {
            throw SwerveError.invalid("the multipart/form-data body is malformed: \(error)")
        }
        return parts
    }

    /// The `name="..."` of a Content-Disposition header.
    private static func fieldName(_ disposition: String) -> String? {
        for parameter in disposition.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "name" {
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }
}
