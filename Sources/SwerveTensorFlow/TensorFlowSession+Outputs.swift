import SwerveCore

extension TensorFlowSession {
    /// Copies an output `TF_Tensor` into a ``Tensor``: one copy of the data for fixed-size types,
    /// and TensorFlow's strings re-encoded as length-prefixed BYTES elements.
    func tensor(from handle: OpaquePointer, name: String) throws(SwerveError) -> Tensor {
        let code = api.tensorType(handle)
        guard let dataType = TFDataType.dataType(of: code) else {
            throw SwerveError.internal(
                "output '\(name)' has data type \(TFDataType.name(of: Int(code))), which has no KServe equivalent")
        }
        let shape = (0..<api.numDims(handle)).map { Int(api.dim(handle, $0)) }
        let count = shape.reduce(1, *)
        let byteCount = api.tensorByteSize(handle)
        guard count > 0, let data = api.tensorData(handle) else {
            return Tensor(dataType: dataType, shape: shape, data: [])
        }
        guard let size = dataType.byteSize else {
            guard byteCount >= count * TFString.size else {
                throw SwerveError.internal("TensorFlow returned \(byteCount) bytes for the \(count) strings of output '\(name)'")
            }
            return Tensor(dataType: dataType, shape: shape, data: TFString.encode(data, count: count, api: api))
        }
        guard byteCount == count * size else {
            throw SwerveError.internal(
                "TensorFlow returned \(byteCount) bytes for output '\(name)', \(dataType.rawValue) of shape \(Shape.describe(shape))")
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(start: data, count: byteCount))
            initialized = byteCount
        }
        return Tensor(dataType: dataType, shape: shape, data: bytes)
    }
}
