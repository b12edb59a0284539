/// Turns encoded elements of a BYTES input (for example JPEG or PNG files) into the tensor a model
/// takes, so clients can send images instead of tensors on every protocol.
///
/// A preprocessor is made per model version from its configuration by the factory given in
/// ``ModelManagerOptions/makePreprocessor``; the core calls it off the event loops, before the
/// request is validated and queued, so preprocessed requests batch like any other.
public protocol InputPreprocessor: Sendable {
    /// The model input it fills.
    var inputName: String { get }
    /// Converts one encoded element into one row of the input (its shape without the batch dimension).
    /// - Throws: ``SwerveError`` (`invalidArgument`) with a message that says what is wrong with it.
    func preprocess(_ element: [UInt8]) throws -> Tensor
}

extension InputPreprocessor {
    /// Converts every element of a BYTES tensor of shape `[N]` or `[N, 1]` into a batch of rows.
    package func preprocessBatch(_ tensor: Tensor, name: String) throws -> Tensor {
        let elements = try BytesCodec.decode(tensor.data, tensorName: name)
        guard !elements.isEmpty else {
            throw SwerveError.invalid("input '\(name)' holds no encoded image")
        }
        var rows: [Tensor] = []
        rows.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            do {
                rows.append(try preprocess(Array(element)))
            } catch let error as SwerveError {
                throw SwerveError(error.code, elements.count > 1 ? "input '\(name)' element \(index): \(error.message)" : error.message)
            }
        }
        let first = rows[0]
        guard rows.allSatisfy({ $0.shape == first.shape && $0.dataType == first.dataType }) else {
            throw SwerveError.internal("the preprocessor gave rows of different shapes")
        }
        var data: [UInt8] = []
        data.reserveCapacity(rows.reduce(0) { $0 + $1.data.count })
        for row in rows { data.append(contentsOf: row.data) }
        return Tensor(dataType: first.dataType, shape: [rows.count] + first.shape, data: data)
    }
}
