import CSwerveImageCodecs
import SwerveCore

extension ImageDecoder {
    /// Columns and rows decoded around a window, beyond what it asks: libjpeg-turbo's fancy
    /// upsampling makes the outermost pixels of a cropped decode differ (by up to 4 levels,
    /// 2 pixels deep); past this margin they are the pixels of a whole decode.
    static let windowMargin = 16

    /// Decodes a JPEG with libjpeg-turbo, without applying the orientation.
    func decodeJPEG(_ bytes: UnsafeRawBufferPointer) throws -> RGBImage {
        try decodeJPEG(bytes, window: nil).pixels
    }

    /// Decodes a JPEG with libjpeg-turbo, without applying the orientation; with a `window`
    /// (given the image's size, the columns and rows wanted), only those and a margin around
    /// them are decoded. Rows below the window are still entropy-decoded (not transformed), so
    /// damage anywhere in the file is refused as in a whole decode.
    func decodeJPEG(
        _ bytes: UnsafeRawBufferPointer, window: ((_ width: Int, _ height: Int) -> (columns: Range<Int>, rows: Range<Int>))?
    ) throws -> ImageRegion {
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let jpeg = swv_jpeg_create(base, bytes.count) else {
            throw SwerveError.internal("out of memory creating a JPEG decoder")
        }
        defer { swv_jpeg_destroy(jpeg) }
        func failure() -> SwerveError {
            let message = String(cString: swv_jpeg_message(jpeg))
            guard Self.endsImage(bytes) else {
                return SwerveError.invalid("invalid JPEG image: the file is truncated (no end-of-image marker after the image data): " + message)
            }
            return SwerveError.invalid("invalid JPEG image: " + message)
        }

        var header = swv_jpeg_header()
        guard swv_jpeg_read_header(jpeg, &header) == 0 else { throw failure() }
        let width = Int(header.width), height = Int(header.height)
        try checkSize(width: width, height: height, format: .jpeg)
        guard swv_jpeg_start(jpeg) == 0 else { throw failure() }

        if header.is_cmyk == 0, let window {
            return try decodeWindow(jpeg, width: width, height: height, wanted: window(width, height), failure: failure)
        }
        let image: RGBImage
        if header.is_cmyk == 0 {
            image = try RGBImage(width: width, height: height) { out in
                try readRows(jpeg, height: height, failure: failure) { row in out + row * width * 3 }
            }
        } else {
            // CMYK: decode each row into a scratch row and convert it.
            let inverted = header.saw_adobe_marker != 0
            let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: width * 4)
            defer { scratch.deallocate() }
            image = try RGBImage(width: width, height: height) { out in
                for row in 0..<height {
                    try readRows(jpeg, height: row + 1, startingAt: row, failure: failure) { _ in scratch }
                    Self.convertCMYKRow(scratch, to: out + row * width * 3, width: width, inverted: inverted)
                }
            }
        }
        guard swv_jpeg_finish(jpeg) == 0 else { throw failure() }
        return ImageRegion(whole: image)
    }

    /// Decodes the rows and columns `wanted` and a margin (3-component output, started).
    private func decodeWindow(
        _ jpeg: OpaquePointer, width: Int, height: Int, wanted: (columns: Range<Int>, rows: Range<Int>), failure: () -> SwerveError
    ) throws -> ImageRegion {
        let margin = Self.windowMargin
        let top = max(0, wanted.rows.lowerBound - margin)
        let bottom = max(top + 1, min(height, wanted.rows.upperBound + margin))
        var x = UInt32(max(0, wanted.columns.lowerBound - margin))
        var columns = UInt32(max(1, min(width, wanted.columns.upperBound + margin) - Int(x)))
        if x > 0 || Int(columns) < width {
            guard swv_jpeg_crop(jpeg, &x, &columns) == 0 else { throw failure() }
        }
        let regionWidth = Int(columns)
        var skipped: UInt32 = 0
        if top > 0 {
            guard swv_jpeg_skip_rows(jpeg, UInt32(top), &skipped) == 0 else { throw failure() }
            guard Int(skipped) == top else {
                throw SwerveError.invalid("invalid JPEG image: the decoder stopped at row \(skipped) of \(height)")
            }
        }
        let pixels = try RGBImage(width: regionWidth, height: bottom - top) { out in
            try readRows(jpeg, height: bottom, startingAt: top, failure: failure) { row in out + (row - top) * regionWidth * 3 }
        }
        if bottom < height {
            // Skip all but the last row, then read it: skipping to the end would stop reading
            // the file there, and damage after the window would go unnoticed.
            if height - bottom > 1 {
                guard swv_jpeg_skip_rows(jpeg, UInt32(height - bottom - 1), &skipped) == 0 else { throw failure() }
            }
            let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: regionWidth * 3)
            defer { scratch.deallocate() }
            try readRows(jpeg, height: height, startingAt: height - 1, failure: failure) { _ in scratch }
        }
        guard swv_jpeg_finish(jpeg) == 0 else { throw failure() }
        return ImageRegion(pixels: pixels, fullWidth: width, fullHeight: height, x: Int(x), y: top)
    }

    /// Reads rows `first..<height`, asking `destination` where each row goes.
    private func readRows(
        _ jpeg: OpaquePointer, height: Int, startingAt first: Int = 0, failure: () -> SwerveError,
        destination: (Int) -> UnsafeMutablePointer<UInt8>
    ) throws {
        var row = first
        var pointers: [UnsafeMutablePointer<UInt8>?] = [nil, nil, nil, nil]
        try pointers.withUnsafeMutableBufferPointer { slots in
            while row < height {
                let wanted = min(slots.count, height - row)
                for i in 0..<wanted { slots[i] = destination(row + i) }
                var read: UInt32 = 0
                guard swv_jpeg_read_rows(jpeg, slots.baseAddress, UInt32(wanted), &read) == 0 else { throw failure() }
                guard read > 0 else {
                    throw SwerveError.invalid("invalid JPEG image: the decoder stopped at row \(row) of \(height)")
                }
                row += Int(read)
            }
        }
    }

    /// Whether an end-of-image marker (FF D9) follows the last start-of-scan marker (FF DA):
    /// if not, the file was cut short, which explains whatever libjpeg complained about.
    static func endsImage(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = bytes.count - 2
        var sawEnd = false
        while i >= 0 {
            if bytes[i] == 0xFF {
                if bytes[i + 1] == 0xD9 { sawEnd = true }
                if bytes[i + 1] == 0xDA { return sawEnd }
            }
            i -= 1
        }
        return false
    }

    /// CMYK to RGB as Pillow converts: R = round((255 − C)(255 − K) / 255) on the true ink
    /// values. Adobe-marked files store every value inverted (255 − v), so there the product of
    /// the stored values is used directly.
    static func convertCMYKRow(_ cmyk: UnsafePointer<UInt8>, to rgb: UnsafeMutablePointer<UInt8>, width: Int, inverted: Bool) {
        for x in 0..<width {
            var c = Int(cmyk[x * 4]), m = Int(cmyk[x * 4 + 1]), y = Int(cmyk[x * 4 + 2]), k = Int(cmyk[x * 4 + 3])
            if !inverted {
                c = 255 - c
                m = 255 - m
                y = 255 - y
                k = 255 - k
            }
            // round(a·b / 255) exactly: a·b / 255 is never halfway between two integers.
            rgb[x * 3] = UInt8((c * k + 127) / 255)
            rgb[x * 3 + 1] = UInt8((m * k + 127) / 255)
            rgb[x * 3 + 2] = UInt8((y * k + 127) / 255)
        }
    }
}
