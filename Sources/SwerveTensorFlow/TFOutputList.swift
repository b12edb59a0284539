/// A C array of `TF_Output` (`c_api.h`: `{ TF_Operation* oper; int index; }`, 16 bytes on 64-bit
/// platforms: the pointer, the `int`, then 4 bytes of padding), written into raw memory so that
/// its layout is C's and not whatever Swift picks for a struct.
enum TFOutputList {
    /// `sizeof(TF_Output)`.
    static let stride = MemoryLayout<UnsafeRawPointer>.size * 2
    /// Where `index` sits inside a `TF_Output`.
    private static let indexOffset = MemoryLayout<UnsafeRawPointer>.size

    /// Calls `body` with a `TF_Output` array holding `outputs` (NULL when empty) and its count.
    static func with<R>(_ outputs: [TFTensorBinding], _ body: (UnsafeRawPointer?, Int32) throws -> R) rethrows -> R {
        guard !outputs.isEmpty else {
            return try body(nil, 0)
        }
        return try withUnsafeTemporaryAllocation(
            byteCount: outputs.count * stride, alignment: MemoryLayout<UnsafeRawPointer>.alignment
        ) { raw in
            for (position, output) in outputs.enumerated() {
                raw.storeBytes(of: output.operation, toByteOffset: position * stride, as: OpaquePointer.self)
                raw.storeBytes(of: output.index, toByteOffset: position * stride + indexOffset, as: Int32.self)
                raw.storeBytes(of: 0, toByteOffset: position * stride + indexOffset + 4, as: Int32.self)
            }
            return try body(UnsafeRawPointer(raw.baseAddress), Int32(outputs.count))
        }
    }
}
