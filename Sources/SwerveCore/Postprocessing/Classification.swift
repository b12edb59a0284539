import Foundation

/// Triton's classification extension: replaces an output with its top-K entries as BYTES
/// elements `"<value>:<index>"` or `"<value>:<index>:<label>"`, highest value first (ties: lower
/// index first; NaN last), with the raw values (no softmax). The entries are picked by
/// ``ClassificationPostprocessing/topIndices(_:count:)``, the same top-k the TorchServe-style
/// answers use. Also reads label files and the values of numeric tensors.
public enum Classification {
    /// Classifies `tensor`, per batch element when `batched`.
    /// - Parameters:
    ///   - count: how many classes to keep (at most the number of classes).
    ///   - labels: class labels by index, if the output has a label file.
    /// - Throws: `invalidArgument` for BYTES outputs or a count below 1.
    public static func classify(_ tensor: Tensor, name: String, count: Int, batched: Bool, labels: [String]?) throws -> Tensor {
        guard count >= 1 else {
            throw SwerveError.invalid("output '\(name)': classification count must be at least 1, not \(count)")
        }
        guard tensor.dataType != .bytes else {
            throw SwerveError.invalid("output '\(name)' is BYTES and cannot be classified")
        }
        let values = try numericValues(of: tensor)
        let batch = batched ? max(1, tensor.shape.first ?? 1) : 1
        let perItem = batch > 0 ? values.count / batch : 0
        let k = min(count, perItem)
        var out: [UInt8] = []
        for item in 0..<batch {
            let row = values[(item * perItem)..<((item + 1) * perItem)]
            for classIndex in ClassificationPostprocessing.topIndices(row, count: k) {
                var text = format(row[row.startIndex + classIndex], dataType: tensor.dataType) + ":" + String(classIndex)
                if let labels, classIndex < labels.count { text += ":" + labels[classIndex] }
                BytesCodec.append(text.utf8, to: &out)
            }
        }
        return Tensor(dataType: .bytes, shape: batched ? [batch, k] : [k], data: out)
    }

    /// Reads a label file: one label per line (LF or CRLF), line i is class i.
    public static func loadLabels(path: String) -> [String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        // "\r\n" is one Character in Swift, so splitting on "\n" alone would leave CRLF files whole.
        var lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }.map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    private static func format(_ value: Double, dataType: DataType) -> String {
        switch dataType {
        case .fp16, .bf16, .fp32, .fp64: String(format: "%f", value)
        // UINT64 values above Int64.max must not trap in the conversion.
        default: abs(value) < 0x1p63 ? String(Int64(value)) : String(format: "%.0f", value)
        }
    }

    /// The elements of a numeric tensor as doubles.
    /// - Throws: `invalidArgument` for BYTES tensors.
    public static func numericValues(of tensor: Tensor) throws -> [Double] {
        let data = tensor.data
        func read<T>(_ type: T.Type, _ convert: (T) -> Double) -> [Double] {
            data.withUnsafeBytes { raw in
                stride(from: 0, to: raw.count - MemoryLayout<T>.size + 1, by: MemoryLayout<T>.size).map {
                    convert(raw.loadUnaligned(fromByteOffset: $0, as: T.self))
                }
            }
        }
        switch tensor.dataType {
        case .bool, .uint8: return read(UInt8.self) { Double($0) }
        case .int8: return read(Int8.self) { Double($0) }
        case .uint16: return read(UInt16.self) { Double(UInt16(littleEndian: $0)) }
        case .int16: return read(Int16.self) { Double(Int16(littleEndian: $0)) }
        case .uint32: return read(UInt32.self) { Double(UInt32(littleEndian: $0)) }
        case .int32: return read(Int32.self) { Double(Int32(littleEndian: $0)) }
        case .uint64: return read(UInt64.self) { Double(UInt64(littleEndian: $0)) }
        case .int64: return read(Int64.self) { Double(Int64(littleEndian: $0)) }
        case .fp16: return read(UInt16.self) { Double(Float16(bitPattern: UInt16(littleEndian: $0))) }
        case .bf16: return read(UInt16.self) { Double(Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16)) }
        case .fp32: return read(UInt32.self) { Double(Float(bitPattern: UInt32(littleEndian: $0))) }
        case .fp64: return read(UInt64.self) { Double(bitPattern: UInt64(littleEndian: $0)) }
        case .bytes: throw SwerveError.invalid("BYTES tensors have no numeric values")
        }
    }
}
