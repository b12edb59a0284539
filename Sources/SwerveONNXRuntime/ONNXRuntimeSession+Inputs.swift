import SwerveCore

extension ONNXRuntimeSession {
    /// Wraps each input in an `OrtValue`, calls `body` with them, and releases them.
    ///
    /// Fixed-size tensors point straight at the input array's storage, which stays pinned by the
    /// nested `withUnsafeBytes` until the value is released. ONNX Runtime only reads input buffers,
    /// so it may be handed the array's storage although Swift sees it as immutable.
    func withInputValues<R>(
        _ remaining: ArraySlice<NamedTensor>, created: [OpaquePointer?], _ body: ([OpaquePointer?]) throws -> R
    ) throws -> R {
        guard let input = remaining.first else {
            return try body(created)
        }
        let rest = remaining.dropFirst()
        if input.tensor.dataType == .bytes {
            let value = try stringValue(input)
            defer { api.releaseValue(value) }
            return try withInputValues(rest, created: created + [value], body)
        }
        return try input.tensor.data.withUnsafeBytes { bytes in
            let value = try tensorValue(input, bytes)
            defer { api.releaseValue(value) }
            return try withInputValues(rest, created: created + [value], body)
        }
    }

    /// An `OrtValue` over `bytes`, which must outlive it.
    private func tensorValue(_ input: NamedTensor, _ bytes: UnsafeRawBufferPointer) throws(SwerveError) -> OpaquePointer {
        let data = bytes.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) } ?? emptyBuffer
        let elementType = ORTElementType.code(of: input.tensor.dataType)
        var value: OpaquePointer?
        let status = Self.withDims(input.tensor.shape) { dims, rank in
            api.createTensorWithDataAsOrtValue(memoryInfo, data, bytes.count, dims, rank, elementType, &value)
        }
        try api.check(status, "wrapping input '\(input.name)'")
        guard let value else {
            throw SwerveError.internal("ONNX Runtime returned no value for input '\(input.name)'")
        }
        return value
    }

    /// A STRING `OrtValue` holding NUL-terminated copies of the BYTES elements.
    private func stringValue(_ input: NamedTensor) throws -> OpaquePointer {
        let data = input.tensor.data
        var joined: [UInt8] = []
        joined.reserveCapacity(data.count)
        var starts: [Int] = []
        try BytesCodec.forEachElement(in: data, tensorName: input.name) { range in
            if data[range].contains(0) {
                throw SwerveError.invalid(
                    "input '\(input.name)' element \(starts.count) contains a NUL byte, which ONNX Runtime strings cannot hold"
                )
            }
            starts.append(joined.count)
            joined.append(contentsOf: data[range])
            joined.append(0)
        }
        var created: OpaquePointer?
        let status = Self.withDims(input.tensor.shape) { dims, rank in
            api.createTensorAsOrtValue(runtime.allocator, dims, rank, ORTElementType.code(of: .bytes), &created)
        }
        try api.check(status, "creating string input '\(input.name)'")
        guard let value = created else {
            throw SwerveError.internal("ONNX Runtime returned no value for input '\(input.name)'")
        }
        guard !starts.isEmpty else {
            return value
        }
        // UInt8 and CChar (Int8) are related types, so the bytes may be read as C characters.
        let fillStatus = joined.withUnsafeBytes { raw in
            let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            let strings: [UnsafePointer<CChar>?] = starts.map { base + $0 }
            return strings.withUnsafeBufferPointer { api.fillStringTensor(value, $0.baseAddress, $0.count) }
        }
        do {
            try api.check(fillStatus, "filling string input '\(input.name)'")
        } catch {
            api.releaseValue(value)
            throw error
        }
        return value
    }

    /// Calls `body` with the shape as `int64_t` dimensions (never a NULL pointer) and the rank.
    private static func withDims<R>(_ shape: [Int], _ body: (UnsafePointer<Int64>, Int) -> R) -> R {
        var dims = shape.map { Int64($0) }
        dims.append(0)  // keeps the buffer non-empty for rank-0 tensors
        return dims.withUnsafeBufferPointer { body($0.baseAddress!, shape.count) }
    }
}
