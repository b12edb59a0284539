import SwerveCore

extension ONNXRuntimeSession {
    /// Copies an output `OrtValue` into a ``Tensor``: one copy of the data for fixed-size types,
    /// and ONNX Runtime's strings re-encoded as length-prefixed BYTES elements.
    func tensor(from value: OpaquePointer, name: String) throws(SwerveError) -> Tensor {
        var isTensor: Int32 = 0
        try api.check(api.isTensor(value, &isTensor), "inspecting output '\(name)'")
        guard isTensor != 0 else {
            throw SwerveError.internal("output '\(name)' is not a tensor")
        }
        var info: OpaquePointer?
        try api.check(api.getTensorTypeAndShape(value, &info), "reading the shape of output '\(name)'")
        defer { api.releaseTensorTypeAndShapeInfo(info) }
        var elementType: Int32 = 0
        try api.check(api.getTensorElementType(info, &elementType), "reading the type of output '\(name)'")
        var rank = 0
        try api.check(api.getDimensionsCount(info, &rank), "reading the rank of output '\(name)'")
        var dims = [Int64](repeating: 0, count: rank)
        try api.check(api.getDimensions(info, &dims, rank), "reading the dimensions of output '\(name)'")
        var count = 0
        try api.check(api.getTensorShapeElementCount(info, &count), "counting the elements of output '\(name)'")

        guard let dataType = ORTElementType.dataType(of: elementType) else {
            throw SwerveError.internal(
                "output '\(name)' has element type \(ORTElementType.name(of: elementType)), which has no KServe equivalent"
            )
        }
        let data: [UInt8]
        if let size = dataType.byteSize {
            data = try fixedSizeData(value, byteCount: count * size, name: name)
        } else {
            data = try stringData(value, count: count, name: name)
        }
        return Tensor(dataType: dataType, shape: dims.map { Int($0) }, data: data)
    }

    private func fixedSizeData(_ value: OpaquePointer, byteCount: Int, name: String) throws(SwerveError) -> [UInt8] {
        guard byteCount > 0 else { return [] }
        var raw: UnsafeMutableRawPointer?
        try api.check(api.getTensorMutableData(value, &raw), "reading the data of output '\(name)'")
        guard let raw else {
            throw SwerveError.internal("ONNX Runtime returned no data for output '\(name)'")
        }
        return [UInt8](unsafeUninitializedCapacity: byteCount) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(start: raw, count: byteCount))
            initialized = byteCount
        }
    }

    private func stringData(_ value: OpaquePointer, count: Int, name: String) throws(SwerveError) -> [UInt8] {
        guard count > 0 else { return [] }
        var total = 0
        try api.check(api.getStringTensorDataLength(value, &total), "measuring output '\(name)'")
        var content = [UInt8](repeating: 0, count: max(total, 1))
        var offsets = [Int](repeating: 0, count: count)
        let status = content.withUnsafeMutableBytes { bytes in
            offsets.withUnsafeMutableBufferPointer { starts in
                api.getStringTensorContent(value, bytes.baseAddress, total, starts.baseAddress, count)
            }
        }
        try api.check(status, "reading the strings of output '\(name)'")
        var out: [UInt8] = []
        out.reserveCapacity(total + 4 * count)
        for index in 0..<count {
            let start = offsets[index]
            let end = index + 1 < count ? offsets[index + 1] : total
            guard 0 <= start, start <= end, end <= total else {
                throw SwerveError.internal("ONNX Runtime returned inconsistent string offsets for output '\(name)'")
            }
            BytesCodec.append(content[start..<end], to: &out)
        }
        return out
    }
}
