/// The EXIF `Orientation` tag (0x0112): how the stored pixels must be turned to display the
/// image upright. Cameras store pixels as the sensor saw them and set this tag instead of
/// rotating; viewers (and Pillow's `ImageOps.exif_transpose`) apply it.
public enum ExifOrientation: Int, Sendable, CaseIterable {
    /// Stored upright.
    case up = 1
    /// Mirrored left to right.
    case upMirrored = 2
    /// Upside down: turn 180°.
    case down = 3
    /// Mirrored top to bottom.
    case downMirrored = 4
    /// Mirrored along the main diagonal (transpose).
    case leftMirrored = 5
    /// Turn 90° clockwise to display.
    case right = 6
    /// Mirrored along the anti-diagonal (transverse).
    case rightMirrored = 7
    /// Turn 90° counter-clockwise to display.
    case left = 8

    /// Whether displaying swaps width and height.
    public var swapsAxes: Bool { rawValue >= 5 }

    /// The orientation an encoded JPEG or PNG declares, or ``up`` when it declares none (or a
    /// value outside 1…8, or malformed EXIF data, which is ignored rather than refused).
    ///
    /// JPEG: the first APP1 segment starting `Exif\0\0` before the first scan. PNG: the `eXIf`
    /// chunk. Only the TIFF header and the first IFD are read, with every offset bounds-checked.
    public init(encoded bytes: UnsafeRawBufferPointer) {
        var found: ExifOrientation?
        switch ImageFormat(detecting: bytes) {
        case .jpeg: found = Self.fromJPEG(bytes)
        case .png: found = Self.fromPNG(bytes)
        case nil: found = nil
        }
        self = found ?? .up
    }

    /// The orientation in a TIFF structure (the payload of an EXIF block after `Exif\0\0`), or
    /// `nil` when it has no valid orientation tag.
    public init?(tiff bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 8 else { return nil }
        let bigEndian: Bool
        switch (bytes[0], bytes[1]) {
        case (0x49, 0x49): bigEndian = false  // "II"
        case (0x4D, 0x4D): bigEndian = true  // "MM"
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= bytes.count else { return nil }
            let a = Int(bytes[at]), b = Int(bytes[at + 1])
            return bigEndian ? a << 8 | b : b << 8 | a
        }
        func u32(_ at: Int) -> Int? {
            guard let high = u16(bigEndian ? at : at + 2), let low = u16(bigEndian ? at + 2 : at) else { return nil }
            return high << 16 | low
        }
        guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return nil }
        for index in 0..<entries {
            let entry = ifd + 2 + index * 12
            guard let tag = u16(entry), let type = u16(entry + 2), let count = u32(entry + 4) else { return nil }
            guard tag == 0x0112 else { continue }
            let value: Int?
            switch type {
            case 3 where count >= 1: value = u16(entry + 8)  // SHORT, stored left-justified in the value field
            case 4 where count >= 1: value = u32(entry + 8)  // LONG, written by a few tools
            default: value = nil
            }
            guard let value, let orientation = ExifOrientation(rawValue: value) else { return nil }
            self = orientation
            return
        }
        return nil
    }

    private static func fromJPEG(_ bytes: UnsafeRawBufferPointer) -> ExifOrientation? {
        var offset = 2  // after SOI
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF else { return nil }
            let marker = bytes[offset + 1]
            if marker == 0xFF {  // fill byte
                offset += 1
                continue
            }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) {  // markers without a length
                offset += 2
                continue
            }
            if marker == 0xDA || marker == 0xD9 { return nil }  // start of scan, end of image
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let start = offset + 4
            let end = offset + 2 + length
            guard length >= 2, end <= bytes.count else { return nil }
            if marker == 0xE1, end - start >= 6,
               bytes[start] == 0x45, bytes[start + 1] == 0x78, bytes[start + 2] == 0x69, bytes[start + 3] == 0x66,
               bytes[start + 4] == 0, bytes[start + 5] == 0
            {
                return ExifOrientation(tiff: UnsafeRawBufferPointer(rebasing: bytes[(start + 6)..<end]))
            }
            offset = end
        }
        return nil
    }

    private static func fromPNG(_ bytes: UnsafeRawBufferPointer) -> ExifOrientation? {
        var offset = 8  // after the signature
        while offset + 12 <= bytes.count {
            let length = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let type = (bytes[offset + 4], bytes[offset + 5], bytes[offset + 6], bytes[offset + 7])
            let start = offset + 8
            guard length <= bytes.count - start - 4 else { return nil }
            if type == (0x65, 0x58, 0x49, 0x66) {  // "eXIf"
                var tiffStart = start
                // Some writers keep the JPEG-style "Exif\0\0" prefix in the chunk.
                if length >= 6, bytes[start] == 0x45, bytes[start + 1] == 0x78, bytes[start + 2] == 0x69, bytes[start + 3] == 0x66 {
                    tiffStart += 6
                }
                return ExifOrientation(tiff: UnsafeRawBufferPointer(rebasing: bytes[tiffStart..<(start + length)]))
            }
            if type == (0x49, 0x45, 0x4E, 0x44) { return nil }  // "IEND"
            offset = start + length + 4
        }
        return nil
    }
}
