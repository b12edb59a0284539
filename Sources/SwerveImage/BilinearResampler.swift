import CSwerveImageKernels

/// Antialiased bilinear resampling of 8-bit RGB images that reproduces Pillow's
/// `Image.resize(size, Image.BILINEAR)` sample for sample.
///
/// The filter is a triangle whose support widens by the scale factor when shrinking, so every
/// source pixel contributes (no aliasing), and is one pixel wide when enlarging. It is applied
/// separably: a horizontal pass into 8-bit rows, then a vertical pass, each with precomputed
/// weights in 22-bit fixed point, rounded and clamped to 0…255 after each pass, exactly as
/// Pillow's `Resample.c` does. Only the requested window of the output is computed, so a
/// center crop costs only its own pixels. The inner loops are C kernels (CSwerveImageKernels),
/// built for several instruction sets and picked at load time.
enum BilinearResampler {
    /// Fixed-point fraction bits of the weights (Pillow's `PRECISION_BITS`, 32 − 8 − 2).
    static let precisionBits = Int32(SWV_RESAMPLE_PRECISION_BITS)

    /// The fastest build of the kernels this CPU runs (function pointers into constant data,
    /// never written: safe to share).
    nonisolated(unsafe) static let bestKernels = swv_resample_kernels_best().pointee

    /// Resamples `image` to `width × height` and hands over each output row of the window
    /// `columns × rows`, top to bottom: `body(y, samples)` gets the row index in the full
    /// output and `columns.count × 3` samples. The pointer is only valid during the call.
    /// `kernels` picks a build of the inner loops (tests compare them; all give the same bytes).
    /// - Precondition: the window lies inside `0..<width × 0..<height`, and both are positive.
    static func resample(
        _ image: RGBImage, width: Int, height: Int, columns: Range<Int>, rows: Range<Int>,
        kernels: swv_resample_kernels = bestKernels, body: (Int, UnsafePointer<UInt8>) -> Void
    ) {
        resample(ImageRegion(whole: image), width: width, height: height, columns: columns, rows: rows, kernels: kernels, body: body)
    }

    /// Like ``resample(_:width:height:columns:rows:kernels:body:)-(RGBImage,_,_,_,_,_,_)`` for a
    /// region of an image: the whole image is resampled, reading only the region's pixels.
    /// - Precondition: the region holds every source pixel the window reads
    ///   (``AxisWeights/sourceRange(inputSize:outputSize:outputs:)`` of each axis).
    static func resample(
        _ region: ImageRegion, width: Int, height: Int, columns: Range<Int>, rows: Range<Int>,
        kernels: swv_resample_kernels = bestKernels, body: (Int, UnsafePointer<UInt8>) -> Void
    ) {
        let image = region.pixels
        precondition(width > 0 && height > 0 && image.width > 0 && image.height > 0)
        precondition(columns.lowerBound >= 0 && columns.upperBound <= width && rows.lowerBound >= 0 && rows.upperBound <= height)
        guard !columns.isEmpty, !rows.isEmpty else { return }
        let horizontal = AxisWeights(inputSize: region.fullWidth, outputSize: width, outputs: columns, origin: region.x)
        let vertical = AxisWeights(inputSize: region.fullHeight, outputSize: height, outputs: rows, origin: region.y)
        precondition(
            horizontal.sourceRange.lowerBound >= 0 && horizontal.sourceRange.upperBound <= image.width
                && vertical.sourceRange.lowerBound >= 0 && vertical.sourceRange.upperBound <= image.height,
            "BilinearResampler: the region lacks pixels the window reads")
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
                rowsBase = source + firstSourceRow * sourceStride + (columns.lowerBound - region.x) * 3
                rowsStride = sourceStride
            } else {
                let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: sourceRows * rowSamples)
                let offset = firstSourceRow * sourceStride
                horizontal.resampleRows(
                    source + offset, stride: sourceStride, count: sourceRows, readable: pixels.count - offset,
                    into: buffer, outStride: rowSamples, kernel: kernels.horizontal)
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
            let outRow = UnsafeMutablePointer<UInt8>.allocate(capacity: rowSamples)
            defer { outRow.deallocate() }
            for (i, y) in rows.enumerated() {
                vertical.resampleColumns(
                    i, rows: rowsBase, stride: rowsStride, firstRow: firstSourceRow, samples: rowSamples, into: outRow,
                    kernel: kernels.vertical)
                body(y, outRow)
            }
        }
    }
}

/// The weights of one axis: for each output index, the first source index, the number of taps
/// and the fixed-point weights (Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc`).
struct AxisWeights {
    typealias HorizontalKernel = @convention(c) (
        UnsafePointer<UInt8>?, Int, Int32, Int, UnsafeMutablePointer<UInt8>?, Int, Int32, UnsafePointer<Int32>?,
        UnsafePointer<Int32>?, UnsafePointer<Int32>?, Int32
    ) -> Void
    typealias VerticalKernel = @convention(c) (UnsafePointer<UInt8>?, Int, Int32, UnsafePointer<Int32>?, Int, UnsafeMutablePointer<UInt8>?) -> Void

    /// Output indices these weights are for.
    let outputs: Range<Int>
    /// First source index per output, counted from the origin.
    let first: [Int32]
    /// Taps per output.
    let count: [Int32]
    /// `taps` weights per output, in 22-bit fixed point, zero past `count`.
    let weights: [Int32]
    /// Row stride of `weights`.
    let taps: Int
    /// The source indices any output reads, counted from the origin.
    let sourceRange: Range<Int>
    /// Whether every output copies its source sample (same size, no filtering).
    let isIdentity: Bool

    /// The geometry of one axis: the scale, the filter's support, its centre and first tap for
    /// an output (Pillow's `precompute_coeffs`).
    private struct Geometry {
        let inputSize: Int
        let scale: Double
        let support: Double

        init(inputSize: Int, outputSize: Int) {
            self.inputSize = inputSize
            scale = Double(inputSize) / Double(outputSize)
            support = 1.0 * max(scale, 1.0)  // the triangle filter's support is 1
        }

        func center(_ output: Int) -> Double { 0.0 + (Double(output) + 0.5) * scale }

        /// The first source index and the number of taps of an output.
        func taps(_ output: Int) -> (first: Int, count: Int) {
            let center = center(output)
            // C's (int) conversion truncates toward zero.
            let xmin = max(0, Int((center - support + 0.5).rounded(.towardZero)))
            let xmax = min(inputSize, Int((center + support + 0.5).rounded(.towardZero))) - xmin
            return (xmin, max(0, xmax))
        }
    }

    /// The source indices that the outputs `outputs` read, without computing their weights
    /// (the first tap and the end of the last tap only grow with the output index).
    static func sourceRange(inputSize: Int, outputSize: Int, outputs: Range<Int>) -> Range<Int> {
        guard let last = outputs.last else { return 0..<0 }
        let geometry = Geometry(inputSize: inputSize, outputSize: outputSize)
        let (lower, _) = geometry.taps(outputs.lowerBound)
        let (first, count) = geometry.taps(last)
        return lower..<max(lower, first + count)
    }

    /// The weights of `outputs`, with source indices counted from `origin` (the first source
    /// index held in memory).
    init(inputSize: Int, outputSize: Int, outputs: Range<Int>, origin: Int = 0) {
        let geometry = Geometry(inputSize: inputSize, outputSize: outputSize)
        let scale = geometry.scale
        let filterScale = max(scale, 1.0)
        let support = geometry.support
        let taps = Int(support.rounded(.up)) * 2 + 1
        let inverse = 1.0 / filterScale
        let unit = Double(1 << BilinearResampler.precisionBits)
        var first: [Int32] = []
        var count: [Int32] = []
        first.reserveCapacity(outputs.count)
        count.reserveCapacity(outputs.count)
        var weights = [Int32](repeating: 0, count: outputs.count * taps)
        var raw = [Double](repeating: 0, count: taps)
        for (i, xx) in outputs.enumerated() {
            let center = geometry.center(xx)
            let (xmin, xmax) = geometry.taps(xx)
            var total = 0.0
            for x in 0..<xmax {
                var t = (Double(x + xmin) - center + 0.5) * inverse
                if t < 0 { t = -t }
                let w = t < 1.0 ? 1.0 - t : 0.0
                raw[x] = w
                total += w
            }
            for x in 0..<xmax {
                let w = total != 0.0 ? raw[x] / total : raw[x]
                weights[i * taps + x] = Int32(w < 0 ? (-0.5 + w * unit).rounded(.towardZero) : (0.5 + w * unit).rounded(.towardZero))
            }
            first.append(Int32(xmin - origin))
            count.append(Int32(xmax))
        }
        self.outputs = outputs
        self.first = first
        self.count = count
        self.weights = weights
        self.taps = taps
        let lower = Int(first.first ?? 0)
        let upper = zip(first, count).map { Int($0 + $1) }.max() ?? lower
        self.sourceRange = lower..<max(lower, upper)
        self.isIdentity = inputSize == outputSize
    }

    /// Computes the outputs of `count` rows: `source` is the first full source row, rows are
    /// `stride` apart and `readable` bytes from `source` may be read; output rows of
    /// `outputs.count × 3` samples go to `out`, `outStride` apart.
    func resampleRows(
        _ source: UnsafePointer<UInt8>, stride: Int, count rows: Int, readable: Int, into out: UnsafeMutablePointer<UInt8>, outStride: Int,
        kernel: HorizontalKernel
    ) {
        weights.withUnsafeBufferPointer { weights in
            first.withUnsafeBufferPointer { first in
                count.withUnsafeBufferPointer { count in
                    kernel(
                        source, stride, Int32(rows), readable, out, outStride, Int32(first.count), first.baseAddress, count.baseAddress,
                        weights.baseAddress, Int32(taps))
                }
            }
        }
    }

    /// Computes output `index` (an offset into `outputs`) along this (vertical) axis for
    /// `samples` samples: `rows` points at source row `firstRow`, rows are `stride` apart.
    func resampleColumns(
        _ index: Int, rows: UnsafePointer<UInt8>, stride: Int, firstRow: Int, samples: Int, into out: UnsafeMutablePointer<UInt8>,
        kernel: VerticalKernel
    ) {
        let start = Int(first[index]) - firstRow
        weights.withUnsafeBufferPointer { weights in
            kernel(rows + start * stride, stride, count[index], weights.baseAddress! + index * taps, samples, out)
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
