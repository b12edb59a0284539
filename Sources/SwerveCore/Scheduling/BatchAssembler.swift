/// Merges requests into one batch along the first dimension and splits the batch's outputs back,
/// copying each input once into the batch buffer and each output slice once.
enum BatchAssembler {
    /// Concatenates the requests' inputs (all with the same names, types and non-batch shapes).
    static func merge(_ requests: [[NamedTensor]]) -> [NamedTensor] {
        guard let first = requests.first else { return [] }
        guard requests.count > 1 else { return first }
        return first.map { input in
            let parts = requests.map { inputs in inputs.first { $0.name == input.name }!.tensor }
            var data: [UInt8] = []
            data.reserveCapacity(parts.reduce(0) { $0 + $1.data.count })
            for part in parts { data.append(contentsOf: part.data) }
            var shape = input.tensor.shape
            shape[0] = parts.reduce(0) { $0 + $1.shape[0] }
            return NamedTensor(name: input.name, tensor: Tensor(dataType: input.tensor.dataType, shape: shape, data: data))
        }
    }

    /// Splits each output of a batch into per-request outputs of `batchSizes` rows.
    /// - Throws: `internal` when an output's first dimension is not the batch's row count.
    static func split(_ outputs: [NamedTensor], batchSizes: [Int]) throws -> [[NamedTensor]] {
        guard batchSizes.count > 1 else { return [outputs] }
        let rows = batchSizes.reduce(0, +)
        var result = Array(repeating: [NamedTensor](), count: batchSizes.count)
        for output in outputs {
            let tensor = output.tensor
            guard tensor.shape.first == rows else {
                throw SwerveError.internal(
                    "output '\(output.name)' has shape \(Shape.describe(tensor.shape)) but the batch has \(rows) rows; the model does not keep the batch dimension first")
            }
            let rowElements = rows == 0 ? 0 : tensor.elementCount / rows
            if let size = tensor.dataType.byteSize {
                var offset = 0
                for (index, batch) in batchSizes.enumerated() {
                    let count = batch * rowElements * size
                    var shape = tensor.shape
                    shape[0] = batch
                    result[index].append(NamedTensor(
                        name: output.name, tensor: Tensor(dataType: tensor.dataType, shape: shape, data: Array(tensor.data[offset..<(offset + count)]))))
                    offset += count
                }
            } else {
                var boundaries: [Int] = [0]
                var elementsSeen = 0
                var nextBoundary = batchSizes[0] * rowElements
                var request = 0
                try BytesCodec.forEachElement(in: tensor.data, tensorName: output.name) { range in
                    elementsSeen += 1
                    while request < batchSizes.count - 1, elementsSeen == nextBoundary {
                        boundaries.append(range.upperBound)
                        request += 1
                        nextBoundary += batchSizes[request] * rowElements
                    }
                }
                while boundaries.count < batchSizes.count { boundaries.append(tensor.data.count) }
                boundaries.append(tensor.data.count)
                for (index, batch) in batchSizes.enumerated() {
                    var shape = tensor.shape
                    shape[0] = batch
                    result[index].append(NamedTensor(
                        name: output.name,
                        tensor: Tensor(dataType: .bytes, shape: shape, data: Array(tensor.data[boundaries[index]..<boundaries[index + 1]]))))
                }
            }
        }
        return result
    }
}
