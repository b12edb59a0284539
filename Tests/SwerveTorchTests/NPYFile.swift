import Foundation
import SwerveCore

/// Reads NumPy's `.npy` files (format versions 1 to 3, little-endian, C order), as
/// scripts/make_torch_models.py writes them with `numpy.save`.
enum NPYFile {
    struct FormatError: Error, CustomStringConvertible {
        var description: String
    }

    /// The file's array as a tensor.
    static func read(_ path: String) throws -> Tensor {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw FormatError(description: "\(path) is not a .npy file")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            guard bytes.count >= 12 else { throw FormatError(description: "\(path): truncated header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        }
        guard bytes.count >= headerStart + headerLength else { throw FormatError(description: "\(path): truncated header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard !header.contains("'fortran_order': True") else {
            throw FormatError(description: "\(path): Fortran order is not supported")
        }
        let descr = try field("descr", in: header, path: path)
        let types: [String: DataType] = [
            "|b1": .bool, "|u1": .uint8, "|i1": .int8, "<i2": .int16, "<i4": .int32, "<i8": .int64,
            "<f2": .fp16, "<f4": .fp32, "<f8": .fp64,
        ]
        guard let dataType = types[descr.trimmingCharacters(in: CharacterSet(charactersIn: "'"))] else {
            throw FormatError(description: "\(path): element type \(descr) is not supported")
        }
        let shapeText = try field("shape", in: header, path: path)
        let shape = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "()"))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.compactMap { Int($0) }
        return try Tensor.validated(name: path, dataType: dataType, shape: shape, data: Array(bytes[(headerStart + headerLength)...]))
    }

    /// The text of `'key': value` in the header dict, up to the next top-level comma.
    private static func field(_ key: String, in header: String, path: String) throws -> String {
        guard let range = header.range(of: "'\(key)':") else {
            throw FormatError(description: "\(path): no '\(key)' in the header")
        }
        var depth = 0
        var value = ""
        for character in header[range.upperBound...] {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if (character == "," && depth == 0) || character == "}" { break }
            value.append(character)
        }
        return value.trimmingCharacters(in: .whitespaces)
    }
}
