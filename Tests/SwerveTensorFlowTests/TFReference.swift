import Foundation
import SwerveCore

/// What `make_tf_models.py` wrote beside a model: the inputs it fed the signature and the outputs
/// TensorFlow returned, read from `manifest.json` and its `.npy` files.
struct TFReference {
    /// The signature key the outputs came from.
    var signature: String
    var inputs: [NamedTensor]
    var outputs: [NamedTensor]

    private struct Manifest: Decodable {
        struct Entry: Decodable {
            var name: String
            var datatype: String
            var shape: [Int]
            var npy: String?
            var base64: [String]?
        }

        var signature: String
        var inputs: [Entry]
        var outputs: [Entry]
    }

    /// Reads `<models>/<model>/<folder>/manifest.json` of the generated small models.
    init(model: String, folder: String = "reference") throws {
        try self.init(directory: try TFFixture.models.get() + "/\(model)/\(folder)")
    }

    /// Reads `<directory>/manifest.json`.
    init(directory: String) throws {
        let manifest = try JSONDecoder().decode(
            Manifest.self, from: try Data(contentsOf: URL(fileURLWithPath: directory + "/manifest.json")))
        func tensor(_ entry: Manifest.Entry) throws -> NamedTensor {
            guard let dataType = DataType(rawValue: entry.datatype) else {
                throw ReferenceError("unknown datatype \(entry.datatype)")
            }
            if let elements = entry.base64 {
                let decoded = try elements.map { text in
                    guard let data = Data(base64Encoded: text) else { throw ReferenceError("bad base64 in \(entry.name)") }
                    return [UInt8](data)
                }
                return NamedTensor(name: entry.name, tensor: Tensor(dataType: dataType, shape: entry.shape, data: BytesCodec.encode(decoded)))
            }
            guard let file = entry.npy else { throw ReferenceError("\(entry.name) has neither npy nor base64") }
            let array = try NPYArray(path: directory + "/" + file)
            guard array.shape == entry.shape, array.bytes.count == entry.shape.reduce(1, *) * (dataType.byteSize ?? 0) else {
                throw ReferenceError("\(file) holds shape \(array.shape) (\(array.bytes.count) bytes), not \(entry.datatype) \(entry.shape)")
            }
            return NamedTensor(name: entry.name, tensor: Tensor(dataType: dataType, shape: entry.shape, data: array.bytes))
        }
        signature = manifest.signature
        inputs = try manifest.inputs.map(tensor)
        outputs = try manifest.outputs.map(tensor)
    }
}

/// A little-endian, C-ordered array in numpy's `.npy` format (versions 1 to 3): its shape and raw bytes.
struct NPYArray {
    var descr: String
    var shape: [Int]
    var bytes: [UInt8]

    init(path: String) throws {
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard file.count >= 10, file[0] == 0x93, Array(file[1..<6]) == Array("NUMPY".utf8) else {
            throw ReferenceError("\(path) is not an .npy file")
        }
        let headerLength: Int
        let headerStart: Int
        if file[6] == 1 {
            headerLength = Int(file[8]) | Int(file[9]) << 8
            headerStart = 10
        } else {
            headerLength = Int(file[8]) | Int(file[9]) << 8 | Int(file[10]) << 16 | Int(file[11]) << 24
            headerStart = 12
        }
        let header = String(decoding: file[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard header.contains("'fortran_order': False"),
              let descr = Self.value(of: "descr", in: header, from: "'", to: "'"),
              let shapeText = Self.value(of: "shape", in: header, from: "(", to: ")")
        else {
            throw ReferenceError("\(path): unexpected header \(header)")
        }
        guard !descr.hasPrefix(">") else { throw ReferenceError("\(path) is big-endian") }
        self.descr = descr
        self.shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        self.bytes = Array(file[(headerStart + headerLength)...])
    }

    /// The text between `open` and `close` after `'key':` in the header dictionary.
    private static func value(of key: String, in header: String, from open: Character, to close: Character) -> String? {
        guard let keyRange = header.range(of: "'\(key)':") else { return nil }
        let rest = header[keyRange.upperBound...]
        guard let start = rest.firstIndex(of: open) else { return nil }
        let afterOpen = rest.index(after: start)
        guard let end = rest[afterOpen...].firstIndex(of: close) else { return nil }
        return String(rest[afterOpen..<end])
    }
}

struct ReferenceError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Tensor {
    /// The buffer read back as values of `T`.
    func values<T: BitwiseCopyable>(as type: T.Type) -> [T] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / MemoryLayout<T>.size)).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
        }
    }

    /// The largest difference from `other`, element by element, for FP32 and FP64 tensors.
    func largestDifference(from other: Tensor) -> Double {
        switch dataType {
        case .fp32:
            zip(values(as: Float.self), other.values(as: Float.self)).map { Double(abs($0 - $1)) }.max() ?? 0
        case .fp64:
            zip(values(as: Double.self), other.values(as: Double.self)).map { abs($0 - $1) }.max() ?? 0
        default:
            data == other.data ? 0 : .infinity
        }
    }
}
