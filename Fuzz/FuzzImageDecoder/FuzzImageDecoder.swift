import SwerveImage

/// libFuzzer target: JPEG and PNG decoding (libjpeg-turbo and libpng behind the C shim, EXIF
/// orientation) through ``ImageDecoder/decode(_:)-([UInt8])``, the whole-image path. The pixel
/// limit is 4 megapixels instead of the default 40 so that each input decodes quickly.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? decoder.decode(bytes)
    return 0
}

/// The decoder under test.
let decoder = ImageDecoder(maxPixels: 1 << 22)
