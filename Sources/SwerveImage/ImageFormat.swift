/// The encoded image formats SwerveImage decodes, recognised by their magic bytes, never by a
/// file name or a content type.
public enum ImageFormat: String, Sendable, CaseIterable {
    /// JPEG / JFIF / Exif: starts with `FF D8 FF`.
    case jpeg
    /// PNG: starts with the eight-byte signature `89 50 4E 47 0D 0A 1A 0A`.
    case png

    /// The format whose magic bytes `bytes` starts with, or `nil` for anything else.
    public init?(detecting bytes: UnsafeRawBufferPointer) {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
            self = .jpeg
        } else if ImageFormat.hasPNGSignature(bytes) {
            self = .png
        } else {
            return nil
        }
    }

    /// The format whose magic bytes `bytes` starts with, or `nil` for anything else.
    public init?(detecting bytes: [UInt8]) {
        guard let format = bytes.withUnsafeBytes({ ImageFormat(detecting: $0) }) else { return nil }
        self = format
    }

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    private static func hasPNGSignature(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 8 else { return false }
        for i in 0..<8 where bytes[i] != pngSignature[i] {
            return false
        }
        return true
    }
}
