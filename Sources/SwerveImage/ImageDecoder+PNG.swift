import CSwerveImageCodecs
import SwerveCore

extension ImageDecoder {
    /// Decodes a PNG with libpng, without applying the orientation.
    func decodePNG(_ bytes: UnsafeRawBufferPointer) throws -> RGBImage {
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let png = swv_png_create(base, bytes.count) else {
            throw SwerveError.internal("out of memory creating a PNG decoder")
        }
        defer { swv_png_destroy(png) }
        func failure() -> SwerveError {
            SwerveError.invalid("invalid PNG image: " + String(cString: swv_png_message(png)))
        }

        var header = swv_png_header()
        guard swv_png_read_header(png, &header) == 0 else { throw failure() }
        let width = Int(header.width), height = Int(header.height)
        try checkSize(width: width, height: height, format: .png)

        let rows = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: height)
        defer { rows.deallocate() }
        return try RGBImage(width: width, height: height) { out in
            for row in 0..<height { rows[row] = out + row * width * 3 }
            guard swv_png_read_rgb(png, rows) == 0 else { throw failure() }
        }
    }
}
