import Foundation
import Testing

@testable import SwerveImage

struct ExifOrientationTests {
    /// A 3×2 image whose six pixels are numbered 0…5 in their red sample.
    let numbered = RGBImage(width: 3, height: 2, pixels: (0..<6).flatMap { [UInt8($0), 0, 0] })

    func reds(_ image: RGBImage) -> [UInt8] {
        stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] }
    }

    /// Each orientation turns and mirrors the pixels as the EXIF specification (and Pillow) says.
    @Test func orientedAppliesEachTransform() {
        // 0 1 2
        // 3 4 5
        let expected: [ExifOrientation: (Int, Int, [UInt8])] = [
            .up: (3, 2, [0, 1, 2, 3, 4, 5]),
            .upMirrored: (3, 2, [2, 1, 0, 5, 4, 3]),
            .down: (3, 2, [5, 4, 3, 2, 1, 0]),
            .downMirrored: (3, 2, [3, 4, 5, 0, 1, 2]),
            .leftMirrored: (2, 3, [0, 3, 1, 4, 2, 5]),
            .right: (2, 3, [3, 0, 4, 1, 5, 2]),
            .rightMirrored: (2, 3, [5, 2, 4, 1, 3, 0]),
            .left: (2, 3, [2, 5, 1, 4, 0, 3]),
        ]
        for (orientation, (width, height, pixels)) in expected {
            let turned = numbered.oriented(orientation)
            #expect(turned.width == width && turned.height == height, "\(orientation)")
            #expect(reds(turned) == pixels, "\(orientation)")
        }
    }

    /// JPEGs stored in each of the eight orientations decode upright, exactly like Pillow's exif_transpose.
    @Test(.enabled(if: PillowReference.isAvailable, "needs the .venv (scripts/setup.sh)"))
    func everyOrientationDecodesLikePillow() throws {
        let names = (1...8).map { "decode/orient_\($0).jpg" } + ["decode/orient_6.png", "variants/cat_exif6.jpg", "variants/missile_exif3.jpg"]
        let references = try PillowReference.decode(names.map(Fixtures.path))
        for (name, reference) in zip(names, references) {
            let image = try Fixtures.decode(name)
            #expect(image == reference, "\(name)")
        }
    }

    /// The orientation tag is read from JPEG APP1 and PNG eXIf; files without one are upright.
    @Test func readsTheTagFromJPEGAndPNG() throws {
        for n in 1...8 {
            let bytes = try Fixtures.bytes("decode/orient_\(n).jpg")
            #expect(bytes.withUnsafeBytes { ExifOrientation(encoded: $0) }.rawValue == n)
        }
        #expect(try Fixtures.bytes("decode/orient_6.png").withUnsafeBytes { ExifOrientation(encoded: $0) } == .right)
        #expect(try Fixtures.bytes("cat.jpg").withUnsafeBytes { ExifOrientation(encoded: $0) } == .up)
        #expect(try Fixtures.bytes("espresso.png").withUnsafeBytes { ExifOrientation(encoded: $0) } == .up)
        #expect(try Fixtures.decode("variants/cat_exif6.jpg").width == 451)
    }

    /// Big-endian TIFF, LONG values and bad values are handled; malformed data never traps.
    @Test func parsesTIFFDefensively() {
        func tiff(_ bytes: [UInt8]) -> ExifOrientation? { bytes.withUnsafeBytes { ExifOrientation(tiff: $0) } }
        let bigEndian: [UInt8] = [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0]
        #expect(tiff(bigEndian) == .left)
        let long: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 4, 0, 1, 0, 0, 0, 3, 0, 0, 0]
        #expect(tiff(long) == .down)
        var nine = bigEndian
        nine[19] = 9
        #expect(tiff(nine) == nil)
        // Every truncation before the value's end, and an IFD offset far past the end.
        for length in 0..<20 { #expect(tiff(Array(bigEndian.prefix(length))) == nil) }
        #expect(tiff([0x49, 0x49, 42, 0, 0xFF, 0xFF, 0xFF, 0x7F]) == nil)
        // A JPEG whose APP1 segment length runs past the end.
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xF0, 0x45, 0x78, 0x69, 0x66, 0, 0]
        #expect(jpeg.withUnsafeBytes { ExifOrientation(encoded: $0) } == .up)
    }
}
