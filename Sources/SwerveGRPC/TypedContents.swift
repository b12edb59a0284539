import Foundation
import SwerveCore

/// Conversion between the typed repeated fields of `InferTensorContents` and a tensor's
/// little-endian byte buffer, one field per datatype as KServe v2 assigns them.
///
/// BOOL uses `bool_contents`; INT8, INT16 and INT32 `int_contents`; INT64 `int64_contents`; UINT8,
/// UINT16 and UINT32 `uint_contents`; UINT64 `uint64_contents`; FP32 `fp32_contents`; FP64
/// `fp64_contents`; BYTES `bytes_contents`, one entry per element. FP16 and BF16 have no field.
enum TypedContents {
    /// The `InferTensorContents` field that holds elements of `dataType`, or `nil` for FP16 and BF16.
    static func fieldName(for dataType: DataType) -> String? {
        switch dataType {
        case .bool: "bool_contents"
        case .int8, .int16, .int32: "int_contents"
        case .int64: "int64_contents"
        case .uint8, .uint16, .uint32: "uint_contents"
        case .uint64: "uint64_contents"
        case .fp32: "fp32_contents"
        case .fp64: "fp64_contents"
        case .bytes: "bytes_contents"
        case .fp16, .bf16: nil
        }
    }

    /// The fields of `contents` that hold elements, with their element counts.
    static func filledFields(_ contents: Inference_InferTensorContents) -> [(name: String, count: Int)] {
        let fields: [(String, Int)] = [
            ("bool_contents", contents.boolContents.count), ("int_contents", contents.intContents.count),
            ("int64_contents", contents.int64Contents.count), ("uint_contents", contents.uintContents.count),
            ("uint64_contents", contents.uint64Contents.count), ("fp32_contents", contents.fp32Contents.count),
            ("fp64_contents", contents.fp64Contents.count), ("bytes_contents", contents.bytesContents.count),
        ]
        return fields.filter { $0.1 > 0 }.map { (name: $0.0, count: $0.1) }
    }

    /// Builds the tensor of input `name` from its typed contents.
    /// - Throws: `invalidArgument` when the datatype has no typed field, the elements are in
    ///   another field, their count does not match the shape, or a value is out of range.
    static func tensor(from contents: Inference_InferTensorContents, name: String, dataType: DataType, shape: [Int]) throws -> Tensor {
        let count = try Shape.elementCount(shape, tensorName: name)
        guard let field = fieldName(for: dataType) else {
            throw SwerveError.invalid(
                "input '\(name)': \(dataType.rawValue) data has no typed contents field; send it in raw_input_contents")
        }
        let filled = filledFields(contents)
        if let other = filled.first(where: { $0.name != field }) {
            throw SwerveError.invalid(
                "input '\(name)' has datatype \(dataType.rawValue), whose elements go in \(field), but the request fills \(other.name)")
        }
        let given = filled.first?.count ?? 0
        guard given == count else {
            throw SwerveError.invalid(
                "input '\(name)': \(given) elements in \(field) do not match shape \(Shape.describe(shape)), which needs \(count)")
        }
        let data: [UInt8]
        switch dataType {
        case .bool: data = contents.boolContents.map { $0 ? 1 : 0 }
        case .int8: data = try littleEndianBytes(of: narrowed(contents.intContents, to: Int8.self, name: name, field: field))
        case .int16: data = try littleEndianBytes(of: narrowed(contents.intContents, to: Int16.self, name: name, field: field))
        case .int32: data = littleEndianBytes(of: contents.intContents)
        case .int64: data = littleEndianBytes(of: contents.int64Contents)
        case .uint8: data = try narrowed(contents.uintContents, to: UInt8.self, name: name, field: field)
        case .uint16: data = try littleEndianBytes(of: narrowed(contents.uintContents, to: UInt16.self, name: name, field: field))
        case .uint32: data = littleEndianBytes(of: contents.uintContents)
        case .uint64: data = littleEndianBytes(of: contents.uint64Contents)
        case .fp32: data = littleEndianBytes(of: contents.fp32Contents.map(\.bitPattern))
        case .fp64: data = littleEndianBytes(of: contents.fp64Contents.map(\.bitPattern))
        case .bytes: data = BytesCodec.encode(contents.bytesContents)
        case .fp16, .bf16: preconditionFailure("FP16 and BF16 have no typed field; checked above")
        }
        return Tensor(dataType: dataType, shape: shape, data: data)
    }

    /// The typed contents holding the elements of `tensor`.
    /// - Throws: `invalidArgument` for FP16 and BF16, which have no typed field, or a malformed BYTES buffer.
    static func contents(of tensor: Tensor, name: String) throws -> Inference_InferTensorContents {
        var contents = Inference_InferTensorContents()
        let data = tensor.data
        switch tensor.dataType {
        case .bool: contents.boolContents = data.map { $0 != 0 }
        case .int8: contents.intContents = elements(of: data, as: Int8.self).map(Int32.init)
        case .int16: contents.intContents = elements(of: data, as: Int16.self).map(Int32.init)
        case .int32: contents.intContents = elements(of: data, as: Int32.self)
        case .int64: contents.int64Contents = elements(of: data, as: Int64.self)
        case .uint8: contents.uintContents = data.map(UInt32.init)
        case .uint16: contents.uintContents = elements(of: data, as: UInt16.self).map(UInt32.init)
        case .uint32: contents.uintContents = elements(of: data, as: UInt32.self)
        case .uint64: contents.uint64Contents = elements(of: data, as: UInt64.self)
        case .fp32: contents.fp32Contents = elements(of: data, as: UInt32.self).map(Float.init(bitPattern:))
        case .fp64: contents.fp64Contents = elements(of: data, as: UInt64.self).map(Double.init(bitPattern:))
        case .bytes: contents.bytesContents = try BytesCodec.decode(data, tensorName: name).map { Data($0) }
        case .fp16, .bf16:
            throw SwerveError.invalid("tensor '\(name)': \(tensor.dataType.rawValue) data has no typed contents field")
        }
        return contents
    }

    /// Converts wide integers to a narrower type, refusing values that do not fit.
    private static func narrowed<Wide: BinaryInteger, Narrow: FixedWidthInteger>(
        _ values: [Wide], to: Narrow.Type, name: String, field: String
    ) throws -> [Narrow] {
        var out: [Narrow] = []
        out.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard let narrow = Narrow(exactly: value) else {
                throw SwerveError.invalid(
                    "input '\(name)': \(field)[\(index)] = \(value) is out of range for \(Narrow.self) (\(Narrow.min)...\(Narrow.max))")
            }
            out.append(narrow)
        }
        return out
    }

    /// The values as one little-endian byte buffer.
    static func littleEndianBytes<T: FixedWidthInteger>(of values: [T]) -> [UInt8] {
        #if _endian(little)
        return values.withUnsafeBytes { Array($0) }
        #else
        return values.map(\.littleEndian).withUnsafeBytes { Array($0) }
        #endif
    }

    /// The elements of a little-endian byte buffer (whose length is a multiple of the element size).
    static func elements<T: FixedWidthInteger>(of data: [UInt8], as: T.Type) -> [T] {
        let size = MemoryLayout<T>.size
        return data.withUnsafeBytes { raw in
            (0..<(raw.count / size)).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
        }
    }
}
