import SwerveCore

/// The elements of a `TF_STRING` tensor: an array of `TF_TString`, TensorFlow's 24-byte string
/// (`ctstring_internal.h`), which holds up to 22 bytes inline and longer strings in memory of
/// its own. They are read and written only through the library's `TF_String*` functions.
enum TFString {
    /// `sizeof(TF_TString)`.
    static let size = 24

    /// Initialises the `count` strings at `base` with copies of the elements of a BYTES buffer
    /// (the ``BytesCodec`` layout). All are initialised (empty) first, so that whatever happens
    /// every string is valid when `TF_DeleteTensor` frees them: it deallocates each string of a
    /// `TF_STRING` tensor whose buffer only it holds (`TensorInterface::Release`).
    /// - Throws: ``SwerveError`` (`invalidArgument`) when the buffer does not hold `count` elements.
    static func fill(
        _ base: UnsafeMutableRawPointer, count: Int, from data: [UInt8], tensorName: String, api: TFAPI
    ) throws(SwerveError) {
        for position in 0..<count {
            api.stringInit(base + position * size)
        }
        var position = 0
        do {
            try data.withUnsafeBytes { bytes in
                try BytesCodec.forEachElement(in: data, tensorName: tensorName) { range in
                    guard position < count else {
                        throw SwerveError.invalid("input '\(tensorName)' has more BYTES elements than its shape holds (\(count))")
                    }
                    let start = bytes.baseAddress.map { ($0 + range.lowerBound).assumingMemoryBound(to: CChar.self) }
                    api.stringCopy(base + position * size, start, range.count)
                    position += 1
                }
            }
        } catch let error as SwerveError {
            throw error
        } catch {
            throw SwerveError.internal("reading input '\(tensorName)': \(error)")
        }
        guard position == count else {
            throw SwerveError.invalid("input '\(tensorName)' has \(position) BYTES elements but its shape holds \(count)")
        }
    }

    /// The `count` strings at `base` as a BYTES buffer (each a little-endian `UInt32` length, then
    /// the bytes).
    static func encode(_ base: UnsafeRawPointer, count: Int, api: TFAPI) -> [UInt8] {
        var out: [UInt8] = []
        for position in 0..<count {
            let string = base + position * size
            let length = api.stringGetSize(string)
            guard length > 0, let start = api.stringGetDataPointer(string) else {
                BytesCodec.append(EmptyCollection<UInt8>(), to: &out)
                continue
            }
            BytesCodec.append(UnsafeRawBufferPointer(start: start, count: length), to: &out)
        }
        return out
    }
}
