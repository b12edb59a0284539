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
            // An integer keeps every digit (9007199254740993 is not a Double); a number written
            // with a fraction or exponent is taken when it is whole (3.0).
            let exact: T? = switch String(cString: value.objCType) {
            case "d", "f": T(exactly: value.doubleValue)
            case "Q": T(exactly: value.uint64Value)
            default: T(exactly: value.int64Value)
            }
            guard let exact else {
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
}

extension TFServingTensorJSON {
    /// One output tensor ready to be written as TF Serving's nested lists: each element is read
    /// straight from the tensor's buffer and rendered only when it is written, so writing a row
    /// costs that row's elements alone.
    struct Output {
        /// The output's name, for error messages and the keys of several outputs.
        let name: String
        /// The tensor written.
        let tensor: Tensor
        /// The number of elements the shape describes.
        let elementCount: Int
        /// The byte range of each element of a BYTES tensor, found once; empty for other types.
        private let stringRanges: [Range<Int>]

        /// Prepares `tensor` for writing.
        /// - Throws: `internal` when the buffer holds fewer elements than the shape describes
        ///   (extra elements are ignored); `invalidArgument` for a malformed BYTES buffer.
        init(name: String, tensor: Tensor) throws {
            self.name = name
            self.tensor = tensor
            var count = 1
            for dim in tensor.shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dim)
                guard dim >= 0, !overflow else {
                    throw SwerveError.internal("output '\(name)' has an invalid shape \(tensor.shape)")
                }
                count = product
            }
            elementCount = count
            var ranges: [Range<Int>] = []
            let available: Int
            if let size = tensor.dataType.byteSize {
                available = tensor.data.count / size
            } else {
                try BytesCodec.forEachElement(in: tensor.data, tensorName: name) { ranges.append($0) }
                available = ranges.count
            }
            guard available >= count else {
                throw SwerveError.internal(
                    "output '\(name)' holds \(available) elements but its shape \(tensor.shape) describes \(count)")
            }
            stringRanges = ranges
        }

        /// Writes the whole tensor (`row` nil) or row `row` of its outermost dimension as nested
        /// lists; a 0-d tensor is written as its one value whatever `row` is. `row` must be below
        /// the outermost dimension (the caller checks). `rendered` grows by the number of elements
        /// written.
        func write(row: Int?, to writer: inout JSONWriter, rendered: inout Int) {
            var dims = tensor.shape[...]
            var position = 0
            if let row, let first = dims.first {
                dims = dims.dropFirst()
                position = row * (first == 0 ? 0 : elementCount / first)
            }
            nest(dims, position: &position, to: &writer, rendered: &rendered)
        }

        private func nest(_ dims: ArraySlice<Int>, position: inout Int, to writer: inout JSONWriter, rendered: inout Int) {
            guard let first = dims.first else {
                writeElement(position, to: &writer)
                position += 1
                rendered += 1
                return
            }
            writer.raw("[")
            for index in 0..<first {
                if index > 0 { writer.raw(",") }
                nest(dims.dropFirst(), position: &position, to: &writer, rendered: &rendered)
            }
            writer.raw("]")
        }

        /// Writes element `index` (row-major) as a JSON number, boolean or string.
        private func writeElement(_ index: Int, to writer: inout JSONWriter) {
            let data = tensor.data
            func load<T: FixedWidthInteger>(_ type: T.Type) -> T {
                data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self)) }
            }
            switch tensor.dataType {
            case .bool: writer.bool(data[index] != 0)
            case .uint8: writer.number(data[index])
            case .int8: writer.number(Int8(bitPattern: data[index]))
            case .uint16: writer.number(load(UInt16.self))
            case .int16: writer.number(load(Int16.self))
            case .uint32: writer.number(load(UInt32.self))
            case .int32: writer.number(load(Int32.self))
            case .uint64: writer.number(load(UInt64.self))
            case .int64: writer.number(load(Int64.self))
            case .fp32: writer.number(Float(bitPattern: load(UInt32.self)))
            case .fp64: writer.number(Double(bitPattern: load(UInt64.self)))
            case .fp16: writer.number(Float(Float16(bitPattern: load(UInt16.self))))
            case .bf16: writer.number(Float(bitPattern: UInt32(load(UInt16.self)) << 16))
            case .bytes: writer.string(utf8: data[stringRanges[index]])
            }
        }
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
