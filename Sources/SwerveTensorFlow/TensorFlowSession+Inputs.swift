import SwerveCore

extension TensorFlowSession {
    /// Makes a `TF_Tensor` of each input, calls `body` with them, and deletes them.
    ///
    /// Each tensor's bytes are copied once into memory TensorFlow allocates. Handing TensorFlow the
    /// input's own buffer (`TF_NewTensor` with a deallocator that releases it) would save that copy
    /// only when the buffer is aligned as TensorFlow wants (`TF_TensorDefaultAlignment()`: 64
    /// bytes in the 2.21 wheel): `TF_NewTensor` copies a misaligned buffer itself, and a Swift
    /// array's elements are aligned to 16 bytes, to 64 only by chance. BYTES
    /// elements are copied into `TF_TString`s, which `TF_DeleteTensor` frees with the tensor when
    /// no one else holds it (and leaves to TensorFlow when a graph kept it).
    func withInputTensors<R>(_ inputs: [NamedTensor], _ body: ([OpaquePointer?]) throws -> R) throws -> R {
        var made: [OpaquePointer?] = []
        made.reserveCapacity(inputs.count)
        defer { made.forEach { api.deleteTensor($0) } }
        for input in inputs {
            made.append(try inputTensor(input))
        }
        return try body(made)
    }

    private func inputTensor(_ input: NamedTensor) throws -> OpaquePointer {
        let tensor = input.tensor
        let count = try Shape.elementCount(tensor.shape, tensorName: input.name)
        let byteCount: Int
        if let size = tensor.dataType.byteSize {
            byteCount = count * size
            guard byteCount == tensor.data.count else {
                throw SwerveError.invalid(
                    "input '\(input.name)': \(tensor.data.count) bytes of \(tensor.dataType.rawValue) data do not match shape \(Shape.describe(tensor.shape))")
            }
        } else {
            byteCount = count * TFString.size
        }
        let dims = tensor.shape.map { Int64($0) }
        let allocated = dims.withUnsafeBufferPointer {
            api.allocateTensor(TFDataType.code(of: tensor.dataType), $0.baseAddress, Int32(dims.count), byteCount)
        }
        guard let handle = allocated else {
            throw SwerveError.internal("TensorFlow could not allocate input '\(input.name)' (\(byteCount) bytes)")
        }
        guard byteCount > 0, let data = api.tensorData(handle) else {
            return handle
        }
        guard tensor.dataType == .bytes else {
            tensor.data.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: byteCount) }
            return handle
        }
        do {
            try TFString.fill(data, count: count, from: tensor.data, tensorName: input.name, api: api)
        } catch {
            api.deleteTensor(handle)
            throw error
        }
        return handle
    }
}
