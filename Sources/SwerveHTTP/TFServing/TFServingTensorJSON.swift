import Foundation
import SwerveCore

/// Converts between TensorFlow Serving's JSON values (nested lists, `{"b64": ...}` for binary
/// strings) and core tensors.
enum TFServingTensorJSON {
    /// Builds a tensor of `dataType` from a nested JSON value, inferring the shape from the nesting.
    /// - Throws: `invalidArgument` for ragged lists, wrong element types or values out of range.
    static func tensor(from value: Any, dataType: DataType, name: String) throws -> Tensor {
        var shape: [Int]?
        var data: [UInt8] = []
        var count = 0
        try walk(value, depth: 0, path: [], shape: &shape, name: name) { element in
            try append(element, dataType: dataType, name: name, to: &data)
            count += 1
        }
        return Tensor(dataType: dataType, shape: shape ?? [], data: data)
    }

    /// Visits the leaves row-major, checking every list at a depth has the same length.
    private static func walk(
        _ value: Any, depth: Int, path: [Int], shape: inout [Int]?, name: String, _ leaf: (Any) throws -> Void
    ) throws {
        guard depth < 32 else { throw SwerveError.invalid("input '\(name)' is nested more than 32 levels deep") }
        if let list = value as? [Any] {
            if shape == nil || shape!.count <= depth {
                if shape == nil { shape = [] }
                guard shape!.count == depth else {
                    throw SwerveError.invalid("input '\(name)' is ragged: lists at depth \(depth) where values were expected")
                }
                shape!.append(list.count)
            } else if shape![depth] != list.count {
                throw SwerveError.invalid("input '\(name)' is ragged: a list at depth \(depth) has \(list.count) elements, others \(shape![depth])")
            }
            for (index, element) in list.enumerated() {
                try walk(element, depth: depth + 1, path: path + [index], shape: &shape, name: name, leaf)
            }
        } else {
            if shape == nil { shape = [] }
            guard shape!.count == depth else {
                throw SwerveError.invalid("input '\(name)' is ragged: a value at depth \(depth) where lists of depth \(shape!.count) were expected")
            }
            try leaf(value)
        }
    }

    private static func append(_ element: Any, dataType: DataType, name: String, to data: inout [UInt8]) throws {
        func number() throws -> NSNumber {
            if let special = TFServingNonFinite.value(of: element) { return NSNumber(value: special) }
            // On Linux an NSNumber also casts to Bool, so tell JSON booleans apart by their dynamic type.
            guard type(of: element) != Bool.self, let number = element as? NSNumber else {
                throw SwerveError.invalid("input '\(name)' expects \(dataType.rawValue) numbers, got \(type(of: element))")
            }
            return number
        }
        func integer<T: FixedWidthInteger>(_ type: T.Type) throws {
            let value = try number()
            guard let exact = T(exactly: value.doubleValue) else {
                throw SwerveError.invalid("input '\(name)': \(value) is not a valid \(dataType.rawValue)")
            }
            withUnsafeBytes(of: exact.littleEndian) { data.append(contentsOf: $0) }
        }
        switch dataType {
        case .bool:
            guard type(of: element) == Bool.self || (element as? NSNumber).map({ String(cString: $0.objCType) == "c" }) == true,
                  let value = element as? Bool
            else { throw SwerveError.invalid("input '\(name)' expects true or false") }
            data.append(value ? 1 : 0)
        case .uint8: try integer(UInt8.self)
        case .int8: try integer(Int8.self)
        case .uint16: try integer(UInt16.self)
        case .int16: try integer(Int16.self)
        case .uint32: try integer(UInt32.self)
        case .int32: try integer(Int32.self)
        case .uint64: try integer(UInt64.self)
        case .int64: try integer(Int64.self)
        case .fp32: withUnsafeBytes(of: Float(try number().doubleValue).bitPattern.littleEndian) { data.append(contentsOf: $0) }
        case .fp64: withUnsafeBytes(of: try number().doubleValue.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        case .fp16: withUnsafeBytes(of: Float16(try number().floatValue).bitPattern.littleEndian) { data.append(contentsOf: $0) }
        case .bf16: withUnsafeBytes(of: BFloat16.bits(of: try number().floatValue).littleEndian) { data.append(contentsOf: $0) }
        case .bytes:
            if let text = element as? String, TFServingNonFinite.value(of: element) == nil {
                BytesCodec.append(text.utf8, to: &data)
            } else if let object = element as? [String: Any], let encoded = object["b64"] as? String {
                guard let bytes = Base64.decode(encoded) else {
                    throw SwerveError.invalid("input '\(name)': the b64 value is not valid base64")
                }
                BytesCodec.append(bytes, to: &data)
            } else {
                throw SwerveError.invalid("input '\(name)' expects strings or {\"b64\": ...} objects")
            }
        }
    }

    /// Writes `tensor` as nested lists; when `dropBatch` the outermost dimension is removed and row
    /// `row` is written.
    static func write(_ tensor: Tensor, row: Int?, name: String, to writer: inout JSONWriter) throws {
        let elements = try TensorJSON.elementTexts(tensor, name: name)
        var shape = tensor.shape
        var offset = 0
        if let row, !shape.isEmpty {
            let rowCount = shape.dropFirst().reduce(1, *)
            offset = row * rowCount
            shape.removeFirst()
        }
        var position = offset
        func nest(_ dims: ArraySlice<Int>) {
            guard let first = dims.first else {
                writer.raw(elements[position])
                position += 1
                return
            }
            writer.raw("[")
            for index in 0..<first {
                if index > 0 { writer.raw(",") }
                nest(dims.dropFirst())
            }
            writer.raw("]")
        }
        nest(shape[...])
    }

}

/// Base64 in either alphabet (standard or URL-safe), with or without padding.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var normalized = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        normalized = normalized.filter { !$0.isWhitespace }
        while normalized.count % 4 != 0 { normalized.append("=") }
        return Data(base64Encoded: normalized).map(Array.init)
    }
}
