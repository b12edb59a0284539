import CSwerveImageKernels
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

    /// Every build of the C kernels this CPU runs (baseline, SSE4.1, AVX2) gives exactly the bytes
    /// of a plain scalar evaluation of the same fixed-point sums: shrinking and enlarging, odd
    /// sizes (rows left over after the four-row blocks), the last pixel of the last row (no byte
    /// after it), windows, and 1-pixel images.
    @Test(arguments: [
        (37, 23, 11, 7), (37, 23, 100, 61), (451, 300, 385, 256), (480, 320, 224, 224), (5, 9, 3, 4), (1, 1, 3, 2),
        (64, 3, 17, 1), (3, 64, 1, 17), (200, 150, 200, 97), (200, 150, 97, 150),
    ])
    func everyKernelBuildMatchesScalarSums(_ sourceWidth: Int, _ sourceHeight: Int, _ width: Int, _ height: Int) {
        var generator = SplitMix64(seed: UInt64(sourceWidth * 1000 + sourceHeight * 7 + width))
        let image = RGBImage(
            width: sourceWidth, height: sourceHeight, pixels: (0..<(sourceWidth * sourceHeight * 3)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let expected = scalarResize(image, width: width, height: height)
        let windows = [(0..<width, 0..<height), (width / 3..<width, height / 2..<height)]
        var builds: [String] = []
        for level: Int32 in 0...2 {
            guard let kernels = swv_resample_kernels_at(level)?.pointee else { continue }
            builds.append(String(cString: kernels.name))
            for (columns, rows) in windows where !columns.isEmpty && !rows.isEmpty {
                var mismatches = 0
                BilinearResampler.resample(image, width: width, height: height, columns: columns, rows: rows, kernels: kernels) { y, row in
                    let start = (y * width + columns.lowerBound) * 3
                    if Array(UnsafeBufferPointer(start: row, count: columns.count * 3)) != Array(expected[start..<(start + columns.count * 3)]) {
                        mismatches += 1
                    }
                }
                #expect(mismatches == 0, "\(String(cString: kernels.name)): \(mismatches) rows differ, window \(columns) × \(rows)")
            }
        }
        #expect(builds.first == "baseline")
    }

    /// Pillow's 8-bit resampling, one sample at a time, from the same weights.
    func scalarResize(_ image: RGBImage, width: Int, height: Int) -> [UInt8] {
        func clip(_ sum: Int) -> UInt8 { UInt8(min(max(sum >> 22, 0), 255)) }
        let horizontal = AxisWeights(inputSize: image.width, outputSize: width, outputs: 0..<width)
        let vertical = AxisWeights(inputSize: image.height, outputSize: height, outputs: 0..<height)
        var rows = image.pixels
        if !horizontal.isIdentity {
            rows = [UInt8](repeating: 0, count: image.height * width * 3)
            for y in 0..<image.height {
                for x in 0..<width {
                    for c in 0..<3 {
                        var sum = 1 << 21
                        for t in 0..<Int(horizontal.count[x]) {
                            sum += Int(image.pixels[(y * image.width + Int(horizontal.first[x]) + t) * 3 + c]) * Int(horizontal.weights[x * horizontal.taps + t])
                        }
                        rows[(y * width + x) * 3 + c] = clip(sum)
                    }
                }
            }
        }
        if vertical.isIdentity { return rows }
        var out = [UInt8](repeating: 0, count: height * width * 3)
        for y in 0..<height {
            for s in 0..<(width * 3) {
                var sum = 1 << 21
                for t in 0..<Int(vertical.count[y]) {
                    sum += Int(rows[(Int(vertical.first[y]) + t) * width * 3 + s]) * Int(vertical.weights[y * vertical.taps + t])
                }
                out[y * width * 3 + s] = clip(sum)
            }
        }
        return out
    }
}

