import Foundation
import SwerveCore
import Testing

@testable import SwerveImage

struct ImageDecoderTests {
    /// Every format variant, in its own file.
    static let variants = [
        "variants/cat_progressive.jpg", "variants/cat_cmyk.jpg", "variants/cat_gray.jpg", "variants/cat_exif6.jpg",
        "variants/missile_exif3.jpg", "variants/espresso_gray.png", "variants/espresso_gray_alpha.png",
        "variants/espresso_palette.png", "variants/espresso_palette_trns.png", "variants/espresso_palette4.png",
        "variants/espresso_rgba.png", "variants/espresso_gray16.png", "variants/espresso_rgb16.png",
        "decode/bilevel.png", "decode/interlaced.png", "decode/orient_6.png",
    ]

    /// The sample images decode to exactly the pixels Pillow decodes.
    @Test(.enabled(if: PillowReference.isAvailable, "needs the .venv (scripts/setup.sh)"))
    func samplesDecodeLikePillow() throws {
        let expected = try PillowReference.decode(Fixtures.samples.map(Fixtures.path))
        for (name, reference) in zip(Fixtures.samples, expected) {
            let comparison = PixelComparison(try Fixtures.decode(name), reference)
            #expect(comparison.sameSize && comparison.maxDifference == 0, "\(name): \(comparison)")
        }
    }

    /// Every format variant decodes like Pillow's decode of it (CMYK's conversion within ±1).
    @Test(.enabled(if: PillowReference.isAvailable, "needs the .venv (scripts/setup.sh)"), arguments: variants)
    func variantDecodesLikePillow(_ name: String) throws {
        let reference = try PillowReference.decode([Fixtures.path(name)])[0]
        let comparison = PixelComparison(try Fixtures.decode(name), reference)
        #expect(comparison.sameSize)
        #expect(comparison.maxDifference <= (name.contains("cmyk") ? 1 : 0), "\(name): \(comparison)")
    }

    /// Lossless variants give back their RGB original exactly: alpha dropped, 16-bit high bytes kept.
    @Test(arguments: [
        ("variants/espresso_rgba.png", "espresso.png"), ("variants/espresso_rgb16.png", "espresso.png"),
        ("variants/espresso_gray16.png", "variants/espresso_gray.png"),
        ("variants/espresso_gray_alpha.png", "variants/espresso_gray.png"),
    ])
    func losslessVariantsEqualTheirOriginal(_ variant: String, _ original: String) throws {
        #expect(try Fixtures.decode(variant) == Fixtures.decode(original))
    }

    /// A grayscale PNG comes out with the gray value replicated into R, G and B.
    @Test func grayIsReplicated() throws {
        let image = try Fixtures.decode("variants/espresso_gray.png")
        #expect(image.width == 480 && image.height == 320)
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            guard image.pixels[i] == image.pixels[i + 1], image.pixels[i] == image.pixels[i + 2] else {
                Issue.record("pixel \(i / 3) is not gray")
                return
            }
        }
    }

    /// CMYK becomes round((255 − C)(255 − K) / 255) per channel, with Adobe's inverted values inverted back.
    @Test func cmykConversion() {
        let inks: [UInt8] = [0, 0, 0, 0, 255, 0, 128, 0, 10, 20, 30, 40]
        var plain = [UInt8](repeating: 0, count: 9)
        ImageDecoder.convertCMYKRow(inks, to: &plain, width: 3, inverted: false)
        #expect(plain == [255, 255, 255, 0, 255, 127, 207, 198, 190])
        let stored = inks.map { 255 - $0 }
        var inverted = [UInt8](repeating: 0, count: 9)
        ImageDecoder.convertCMYKRow(stored, to: &inverted, width: 3, inverted: true)
        #expect(inverted == plain)
    }

    /// The format comes from the magic bytes, and other formats are named in the message.
    @Test func formatDetection() throws {
        #expect(ImageFormat(detecting: try Fixtures.bytes("cat.jpg")) == .jpeg)
        #expect(ImageFormat(detecting: try Fixtures.bytes("espresso.png")) == .png)
        #expect(ImageFormat(detecting: Array("GIF89a...".utf8)) == nil)
        #expect(ImageFormat(detecting: [0x89, 0x50, 0x4E]) == nil)
        let error = #expect(throws: SwerveError.self) { try ImageDecoder().decode(Array("RIFF\0\0\0\0WEBPVP8 ".utf8)) }
        #expect(error?.message == "not a JPEG or PNG image (it is a WebP image)")
    }
}

extension PixelComparison: CustomStringConvertible {
    var description: String { "same size \(sameSize), max difference \(maxDifference), \(differing) samples differ" }
}
