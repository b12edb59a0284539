import SwerveCore

/// Decodes JPEG and PNG images into 8-bit ``RGBImage``s, upright, as the reference pipeline
/// (Pillow's `ImageOps.exif_transpose` then `convert("RGB")`) sees them.
///
/// - JPEG through libjpeg-turbo with its defaults (accurate integer IDCT, fancy upsampling):
///   baseline, progressive, grayscale (replicated), CMYK and YCCK (Adobe-inverted values are
///   inverted back, then R = (255 − C)(255 − K) / 255 rounded, as Pillow converts).
/// - PNG through libpng: gray, gray + alpha, palette, RGB, RGBA, 1–16 bits, interlaced;
///   alpha and transparency are dropped, 16-bit samples keep their high byte.
/// - The EXIF orientation (JPEG APP1, PNG `eXIf`) is applied.
///
/// Decoding is strict where pixels would be wrong: a JPEG that libjpeg reports as truncated or
/// corrupt (including leftover bytes after the scan data, the usual sign of damaged Huffman
/// data, and a missing end-of-image marker) is refused instead of being decoded into gray or
/// garbage, and so is a progressive JPEG with more than 500 scans. PNG ancillary chunks (text,
/// colour profiles, gamma) are skipped unread.
///
/// Every failure, whatever the bytes, is a ``SwerveError`` with code `invalidArgument` and a
/// message saying what is wrong; images whose header declares more than ``maxPixels`` pixels
/// are refused after reading the header and before any pixel memory is allocated.
///
/// ```swift
/// let image = try ImageDecoder(maxPixels: 40_000_000).decode(bytes)
/// ```
public struct ImageDecoder: Sendable, Equatable {
    /// The default limit on declared pixels: 40 megapixels (120 MB of RGB samples).
    public static let defaultMaxPixels = 40_000_000

    /// A hard ceiling on ``maxPixels``: one gigapixel (3 GB of samples), whatever is asked.
    public static let pixelCeiling = 1_000_000_000

    /// Images whose header declares more pixels than this (or than ``pixelCeiling``) are
    /// refused before decoding.
    public var maxPixels: Int
    /// Whether ``decode(_:)-(UnsafeRawBufferPointer)`` applies the EXIF orientation (the default).
    public var appliesOrientation: Bool

    /// Creates a decoder.
    /// - Parameters:
    ///   - maxPixels: the largest `width × height` an image may declare.
    ///   - appliesOrientation: whether to turn images upright as their EXIF orientation says.
    public init(maxPixels: Int = ImageDecoder.defaultMaxPixels, appliesOrientation: Bool = true) {
        self.maxPixels = maxPixels
        self.appliesOrientation = appliesOrientation
    }

    /// Decodes an encoded JPEG or PNG image.
    /// - Throws: ``SwerveError`` (`invalidArgument`) for anything that is not a decodable JPEG
    ///   or PNG within the pixel limit.
    public func decode(_ bytes: [UInt8]) throws -> RGBImage {
        try bytes.withUnsafeBytes { try decode($0) }
    }

    /// Decodes an encoded JPEG or PNG image.
    /// - Throws: ``SwerveError`` (`invalidArgument`) for anything that is not a decodable JPEG
    ///   or PNG within the pixel limit.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> RGBImage {
        let format = try Self.format(of: bytes)
        return try decodeWhole(bytes, format: format, orientation: orientation(of: bytes))
    }

    /// Decodes the part of an image that `window` asks for (given the upright image's size, the
    /// columns and rows wanted), or more: only an upright JPEG is decoded in part; other images
    /// whole. Failures are those of ``decode(_:)-(UnsafeRawBufferPointer)``.
    func decode(
        _ bytes: UnsafeRawBufferPointer, window: (_ width: Int, _ height: Int) -> (columns: Range<Int>, rows: Range<Int>)
    ) throws -> ImageRegion {
        let format = try Self.format(of: bytes)
        let orientation = orientation(of: bytes)
        guard format == .jpeg, orientation == .up else {
            return ImageRegion(whole: try decodeWhole(bytes, format: format, orientation: orientation))
        }
        return try withoutActuallyEscaping(window) { try decodeJPEG(bytes, window: $0) }
    }

    /// The orientation to apply: the image's own, or ``ExifOrientation/up`` when orientation is off.
    private func orientation(of bytes: UnsafeRawBufferPointer) -> ExifOrientation {
        appliesOrientation ? ExifOrientation(encoded: bytes) : .up
    }

    /// Decodes the whole image and turns it as `orientation` says.
    private func decodeWhole(_ bytes: UnsafeRawBufferPointer, format: ImageFormat, orientation: ExifOrientation) throws -> RGBImage {
        let image =
            switch format {
            case .jpeg: try decodeJPEG(bytes)
            case .png: try decodePNG(bytes)
            }
        return image.oriented(orientation)
    }

    /// The format of `bytes` by their magic bytes.
    /// - Throws: ``SwerveError`` (`invalidArgument`) naming what the bytes look like instead.
    public static func format(of bytes: UnsafeRawBufferPointer) throws -> ImageFormat {
        if let format = ImageFormat(detecting: bytes) { return format }
        if bytes.isEmpty { throw SwerveError.invalid("empty image: the body has 0 bytes") }
        func starts(with text: String) -> Bool { bytes.starts(with: text.utf8) }
        let found =
            if starts(with: "GIF87a") || starts(with: "GIF89a") {
                " (it is a GIF image)"
            } else if starts(with: "RIFF"), bytes.count >= 12, bytes[8..<12].elementsEqual("WEBP".utf8) {
                " (it is a WebP image)"
            } else if starts(with: "BM") {
                " (it looks like a BMP image)"
            } else if starts(with: "II*\0") || starts(with: "MM\0*") {
                " (it is a TIFF image)"
            } else {
                " (it starts with bytes " + bytes.prefix(8).map { hex($0) }.joined(separator: " ") + ")"
            }
        throw SwerveError.invalid("not a JPEG or PNG image" + found)
    }

    /// Refuses sizes over the limit, before anything is allocated for the pixels.
    func checkSize(width: Int, height: Int, format: ImageFormat) throws {
        guard width > 0, height > 0 else {
            throw SwerveError.invalid("invalid \(format.name) image: it declares a size of \(width)×\(height) pixels")
        }
        let limit = min(maxPixels, Self.pixelCeiling)
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= limit else {
            throw SwerveError.invalid(
                "\(format.name) image too large: it declares \(width)×\(height) pixels, more than the limit of \(limit) pixels"
            )
        }
    }
}

extension ImageFormat {
    /// The name used in messages.
    var name: String {
        switch self {
        case .jpeg: "JPEG"
        case .png: "PNG"
        }
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}
