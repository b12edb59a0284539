import Foundation
import Testing

@testable import SwerveImage

struct BilinearResamplerTests {
    /// Target sizes for the 451×300 cat: shrinking a lot and a little, enlarging, one axis only, extremes.
    static let catSizes: [(Int, Int)] = [
        (100, 67), (385, 256), (440, 290), (902, 600), (700, 301), (451, 120), (200, 300), (1, 1), (451, 300), (3, 1000),
    ]

    /// Resizing matches Pillow's Image.resize(size, BILINEAR) within ±1 on every sample, shrinking and enlarging.
    @Test(.enabled(if: PillowReference.isAvailable, "needs the .venv (scripts/setup.sh)"), arguments: catSizes)
    func resizeMatchesPillow(_ width: Int, _ height: Int) throws {
        let image = try Fixtures.decode("cat.jpg")
        let reference = try PillowReference.resize(Fixtures.path("cat.jpg"), width: width, height: height)
        let comparison = PixelComparison(image.resized(width: width, height: height), reference)
        #expect(comparison.sameSize)
        #expect(comparison.maxDifference <= 1, "\(width)x\(height): \(comparison)")
    }

    /// A PNG shrunk to a fifth and enlarged by 1.5 also matches Pillow within ±1.
    @Test(.enabled(if: PillowReference.isAvailable, "needs the .venv (scripts/setup.sh)"), arguments: [(96, 64), (720, 480), (256, 171)])
    func resizeMatchesPillowOnPNG(_ width: Int, _ height: Int) throws {
        let image = try Fixtures.decode("espresso.png")
        let reference = try PillowReference.resize(Fixtures.path("espresso.png"), width: width, height: height)
        let comparison = PixelComparison(image.resized(width: width, height: height), reference)
        #expect(comparison.maxDifference <= 1, "\(width)x\(height): \(comparison)")
    }

    /// A uniform image stays uniform at any size: the weights of every output sum to one.
    @Test func uniformImageStaysUniform() {
        let image = RGBImage(width: 37, height: 23, pixels: [UInt8](repeating: 0, count: 37 * 23).flatMap { _ in [200, 17, 255] })
        for (w, h) in [(5, 3), (100, 80), (37, 10), (1, 1)] {
            let resized = image.resized(width: w, height: h)
            #expect(resized.pixels == [UInt8](repeating: 0, count: w * h).flatMap { _ in [200, 17, 255] }, "\(w)x\(h)")
        }
    }

    /// Shrinking averages over the whole scale factor (antialiasing): a 1-pixel checkerboard halved is flat gray.
    @Test func shrinkingIsAntialiased() {
        let size = 64
        let pixels = (0..<(size * size)).flatMap { i -> [UInt8] in
            let on = (i % size + i / size) % 2 == 0
            return [on ? 255 : 0, on ? 255 : 0, on ? 255 : 0]
        }
        let small = RGBImage(width: size, height: size, pixels: pixels).resized(width: 16, height: 16)
        #expect(small.pixels.allSatisfy { (126...129).contains($0) })
    }

    /// Only the requested window is computed, and it equals that window of the full resize.
    @Test func windowEqualsCropOfFullResize() throws {
        let image = try Fixtures.decode("missile.jpg")
        let full = image.resized(width: 384, height: 256)
        var rows: [Int] = []
        BilinearResampler.resample(image, width: 384, height: 256, columns: 80..<304, rows: 16..<240) { y, row in
            rows.append(y)
            let expected = full.pixels[((y * 384 + 80) * 3)..<((y * 384 + 304) * 3)]
            #expect(Array(UnsafeBufferPointer(start: row, count: 224 * 3)) == Array(expected))
        }
        #expect(rows == Array(16..<240))
    }
}
