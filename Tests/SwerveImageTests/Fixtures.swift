import Foundation
import SwerveImage

/// The image fixtures under tests/fixtures/images (made by scripts/make_image_variants.py).
enum Fixtures {
    /// The project root, found from this file's path.
    static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let images = projectRoot.appendingPathComponent("tests/fixtures/images")

    /// The sample images the classifier is checked with.
    static let samples = ["cat.jpg", "espresso.png", "missile.jpg"]

    static func path(_ relative: String) -> String {
        images.appendingPathComponent(relative).path
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: images.appendingPathComponent(relative)))
    }

    static func decode(_ relative: String) throws -> RGBImage {
        try ImageDecoder().decode(try bytes(relative))
    }
}

/// Compares two images sample by sample.
struct PixelComparison {
    let sameSize: Bool
    let maxDifference: Int
    let differing: Int

    init(_ a: RGBImage, _ b: RGBImage) {
        sameSize = a.width == b.width && a.height == b.height
        var largest = 0, count = 0
        if sameSize {
            for i in a.pixels.indices {
                let d = abs(Int(a.pixels[i]) - Int(b.pixels[i]))
                if d > 0 { count += 1 }
                largest = max(largest, d)
            }
        }
        maxDifference = sameSize ? largest : .max
        differing = count
    }
}
