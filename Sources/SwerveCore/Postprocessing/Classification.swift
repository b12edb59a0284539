import Foundation

/// Triton's classification extension: replaces an output with its top-K entries as BYTES
/// elements `"<value>:<index>"` or `"<value>:<index>:<label>"`, highest value first.
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
            let slice = values[(item * perItem)..<((item + 1) * perItem)]
            let top = slice.indices.sorted { slice[$0] > slice[$1] || (slice[$0] == slice[$1] && $0 < $1) }.prefix(k)
            for index in top {
                let classIndex = index - item * perItem
                var text = format(slice[index], dataType: tensor.dataType) + ":" + String(classIndex)
                if let labels, classIndex < labels.count { text += ":" + labels[classIndex] }
                BytesCodec.append(text.utf8, to: &out)
            }
        }
        return Tensor(dataType: .bytes, shape: batched ? [batch, k] : [k], data: out)
    }

    /// The `count` highest scores of one row, highest first (ties by index), optionally after a
    /// softmax over the row. Duplicate labels stay separate entries: they are told apart by index.
    public static func topK(_ row: ArraySlice<Double>, count: Int, softmax: Bool) -> [(index: Int, score: Double)] {
        var scores = Array(row)
        if softmax, let largest = scores.max() {
            var total = 0.0
            for index in scores.indices {
                scores[index] = Foundation.exp(scores[index] - largest)
                total += scores[index]
            }
            if total > 0 { for index in scores.indices { scores[index] /= total } }
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        return order.prefix(max(0, count)).map { ($0, scores[$0]) }
    }

    /// Reads a label file: one label per line, line i is class i.
    public static func loadLabels(path: String) -> [String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var lines = text.components(separatedBy: "\n").map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    private static func format(_ value: Double, dataType: DataType) -> String {
        switch dataType {
        case .fp16, .bf16, .fp32, .fp64: String(format: "%f", value)
        default: String(Int64(value))
        }
    }

    /// The elements of a numeric tensor as doubles.
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
