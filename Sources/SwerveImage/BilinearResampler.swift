/// Antialiased bilinear resampling of 8-bit RGB images that reproduces Pillow's
/// `Image.resize(size, Image.BILINEAR)` sample for sample.
///
/// The filter is a triangle whose support widens by the scale factor when shrinking, so every
/// source pixel contributes (no aliasing), and is one pixel wide when enlarging. It is applied
/// separably: a horizontal pass into 8-bit rows, then a vertical pass, each with precomputed
/// weights in 22-bit fixed point, rounded and clamped to 0…255 after each pass, exactly as
/// Pillow's `Resample.c` does. Only the requested window of the output is computed, so a
/// center crop costs only its own pixels.
enum BilinearResampler {
    /// Fixed-point fraction bits of the weights (Pillow's `PRECISION_BITS`, 32 − 8 − 2).
    static let precisionBits: Int32 = 22

    /// Resamples `image` to `width × height` and hands over each output row of the window
    /// `columns × rows`, top to bottom: `body(y, samples)` gets the row index in the full
    /// output and `columns.count × 3` samples. The pointer is only valid during the call.
    /// - Precondition: the window lies inside `0..<width × 0..<height`, and both are positive.
    static func resample(
        _ image: RGBImage, width: Int, height: Int, columns: Range<Int>, rows: Range<Int>,
        body: (Int, UnsafePointer<UInt8>) -> Void
    ) {
        precondition(width > 0 && height > 0 && image.width > 0 && image.height > 0)
        precondition(columns.lowerBound >= 0 && columns.upperBound <= width && rows.lowerBound >= 0 && rows.upperBound <= height)
        guard !columns.isEmpty, !rows.isEmpty else { return }
        let horizontal = AxisWeights(inputSize: image.width, outputSize: width, outputs: columns)
        let vertical = AxisWeights(inputSize: image.height, outputSize: height, outputs: rows)
        // The source rows the vertical pass reads.
        let firstSourceRow = vertical.sourceRange.lowerBound
        let sourceRows = vertical.sourceRange.count
        let outColumns = columns.count
        let rowSamples = outColumns * 3

        image.pixels.withUnsafeBufferPointer { pixels in
            let source = pixels.baseAddress!
            let sourceStride = image.width * 3

            // Horizontal pass into `intermediate` (sourceRows × outColumns), unless it is the
            // identity, where the source rows themselves are read.
            let intermediate: UnsafeMutablePointer<UInt8>?
            let rowsBase: UnsafePointer<UInt8>
            let rowsStride: Int
            if horizontal.isIdentity {
                intermediate = nil
                rowsBase = source + firstSourceRow * sourceStride + columns.lowerBound * 3
                rowsStride = sourceStride
            } else {
                let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: sourceRows * rowSamples)
                for r in 0..<sourceRows {
                    horizontal.resampleRow(source + (firstSourceRow + r) * sourceStride, into: buffer + r * rowSamples)
                }
                intermediate = buffer
                rowsBase = UnsafePointer(buffer)
                rowsStride = rowSamples
            }
            defer { intermediate?.deallocate() }

            if vertical.isIdentity {
                for (i, y) in rows.enumerated() {
                    body(y, rowsBase + i * rowsStride)
                }
                return
            }
            let accumulator = UnsafeMutablePointer<Int32>.allocate(capacity: rowSamples)
            let outRow = UnsafeMutablePointer<UInt8>.allocate(capacity: rowSamples)
            defer {
                accumulator.deallocate()
                outRow.deallocate()
            }
            for (i, y) in rows.enumerated() {
                vertical.resampleColumns(
                    i, rows: rowsBase, stride: rowsStride, firstRow: firstSourceRow, samples: rowSamples,
                    accumulator: accumulator, into: outRow
                )
                body(y, outRow)
            }
        }
    }

    /// Rounds and clamps a fixed-point sum to a sample, as Pillow's `clip8`.
    @inline(__always)
    static func clip8(_ sum: Int32) -> UInt8 {
        let value = sum >> precisionBits
        return value < 0 ? 0 : value > 255 ? 255 : UInt8(truncatingIfNeeded: value)
    }
}

/// The weights of one axis: for each output index, the first source index, the number of taps
/// and the fixed-point weights (Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc`).
struct AxisWeights {
    /// Output indices these weights are for.
    let outputs: Range<Int>
    /// First source index per output.
    let first: [Int]
    /// Taps per output.
    let count: [Int]
    /// `taps` weights per output, in 22-bit fixed point, zero past `count`.
    let weights: [Int32]
    /// Row stride of `weights`.
    let taps: Int
    /// The source indices any output reads.
    let sourceRange: Range<Int>
    /// Whether every output copies its source sample (same size, no filtering).
    let isIdentity: Bool

    init(inputSize: Int, outputSize: Int, outputs: Range<Int>) {
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale  // the triangle filter's support is 1
        let taps = Int(support.rounded(.up)) * 2 + 1
        let inverse = 1.0 / filterScale
        let unit = Double(1 << BilinearResampler.precisionBits)
        var first: [Int] = []
        var count: [Int] = []
        first.reserveCapacity(outputs.count)
        count.reserveCapacity(outputs.count)
        var weights = [Int32](repeating: 0, count: outputs.count * taps)
        var raw = [Double](repeating: 0, count: taps)
        for (i, xx) in outputs.enumerated() {
            let center = 0.0 + (Double(xx) + 0.5) * scale
            // C's (int) conversion truncates toward zero.
            let xmin = max(0, Int((center - support + 0.5).rounded(.towardZero)))
            let xmax = min(inputSize, Int((center + support + 0.5).rounded(.towardZero))) - xmin
            var total = 0.0
            for x in 0..<max(0, xmax) {
                var t = (Double(x + xmin) - center + 0.5) * inverse
                if t < 0 { t = -t }
                let w = t < 1.0 ? 1.0 - t : 0.0
                raw[x] = w
                total += w
            }
            for x in 0..<max(0, xmax) {
                let w = total != 0.0 ? raw[x] / total : raw[x]
                weights[i * taps + x] = Int32(w < 0 ? (-0.5 + w * unit).rounded(.towardZero) : (0.5 + w * unit).rounded(.towardZero))
            }
            first.append(xmin)
            count.append(max(0, xmax))
        }
        self.outputs = outputs
        self.first = first
        self.count = count
        self.weights = weights
        self.taps = taps
        let lower = first.first ?? 0
        let upper = zip(first, count).map { $0 + $1 }.max() ?? lower
        self.sourceRange = lower..<max(lower, upper)
        self.isIdentity = inputSize == outputSize
    }

    /// Computes the outputs of one row: `source` is a full source row, `out` gets
    /// `outputs.count × 3` samples.
    func resampleRow(_ source: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) {
        let half: Int32 = 1 << (BilinearResampler.precisionBits - 1)
        weights.withUnsafeBufferPointer { weights in
            first.withUnsafeBufferPointer { first in
                count.withUnsafeBufferPointer { count in
                    let k0 = weights.baseAddress!
                    for i in 0..<first.count {
                        var p = source + first[i] * 3
                        let k = k0 + i * taps
                        var r = half, g = half, b = half
                        for t in 0..<count[i] {
                            let w = k[t]
                            r &+= Int32(p[0]) &* w
                            g &+= Int32(p[1]) &* w
                            b &+= Int32(p[2]) &* w
                            p += 3
                        }
                        out[i * 3] = BilinearResampler.clip8(r)
                        out[i * 3 + 1] = BilinearResampler.clip8(g)
                        out[i * 3 + 2] = BilinearResampler.clip8(b)
                    }
                }
            }
        }
    }

    /// Computes output `index` (an offset into `outputs`) along this (vertical) axis for
    /// `samples` samples: `rows` points at source row `firstRow`, rows are `stride` apart.
    func resampleColumns(
        _ index: Int, rows: UnsafePointer<UInt8>, stride: Int, firstRow: Int, samples: Int,
        accumulator: UnsafeMutablePointer<Int32>, into out: UnsafeMutablePointer<UInt8>
    ) {
        let half: Int32 = 1 << (BilinearResampler.precisionBits - 1)
        accumulator.update(repeating: half, count: samples)
        let start = first[index] - firstRow
        weights.withUnsafeBufferPointer { weights in
            let k = weights.baseAddress! + index * taps
            for t in 0..<count[index] {
                let w = k[t]
                let row = rows + (start + t) * stride
                for s in 0..<samples {
                    accumulator[s] &+= Int32(row[s]) &* w
                }
            }
        }
        for s in 0..<samples {
            out[s] = BilinearResampler.clip8(accumulator[s])
        }
    }
}

extension RGBImage {
    /// The image resampled to `width × height` with Pillow's antialiased bilinear filter
    /// (`Image.resize((width, height), Image.BILINEAR)`), sample for sample.
    /// - Precondition: `width` and `height` are positive and the image is not empty.
    public func resized(width: Int, height: Int) -> RGBImage {
        RGBImage(width: width, height: height) { out in
            BilinearResampler.resample(self, width: width, height: height, columns: 0..<width, rows: 0..<height) { y, row in
                (out + y * width * 3).update(from: row, count: width * 3)
            }
        }
    }
}
