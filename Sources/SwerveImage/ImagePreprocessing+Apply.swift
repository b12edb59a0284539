import CSwerveImageKernels
import SwerveCore

extension ImagePreprocessing {
    /// Resizes, crops and normalises `image` into an FP32 tensor of shape
    /// ``outputShape(width:height:)`` (little-endian bytes).
    /// - Throws: ``SwerveError`` (`invalidArgument`) when the tensor would have more than
    ///   ``maxOutputPixels`` pixels (without a crop, a very long and thin image resized by its
    ///   shorter side would otherwise ask for gigabytes).
    /// - Precondition: the image is not empty.
    public func apply(to image: RGBImage) throws -> Tensor {
        try apply(to: ImageRegion(whole: image))
    }

    /// Where the crop lies in the resized image of a `width × height` image.
    private struct Placement {
        /// The resized size.
        var resized: ImageSize
        /// The crop's offsets in the resized image (negative when the crop is larger).
        var left: Int, top: Int
        /// The columns and rows of the resized image inside the crop.
        var columns: Range<Int>, rows: Range<Int>
    }

    private func placement(width: Int, height: Int, output: ImageSize) -> Placement {
        let resized = resizedSize(width: width, height: height)
        // Crop offsets in the resized image; Python's // floors, also for negative numbers.
        let left = floorDivide(resized.width - output.width, 2)
        let top = floorDivide(resized.height - output.height, 2)
        return Placement(
            resized: resized, left: left, top: top,
            columns: max(0, left)..<min(resized.width, left + output.width), rows: max(0, top)..<min(resized.height, top + output.height))
    }

    /// The columns and rows of a `width × height` image that resizing and cropping it read:
    /// decoding only those gives the same tensor.
    func sourceWindow(width: Int, height: Int) -> (columns: Range<Int>, rows: Range<Int>) {
        let place = placement(width: width, height: height, output: crop ?? resizedSize(width: width, height: height))
        return (
            AxisWeights.sourceRange(inputSize: width, outputSize: place.resized.width, outputs: place.columns),
            AxisWeights.sourceRange(inputSize: height, outputSize: place.resized.height, outputs: place.rows)
        )
    }

    /// ``apply(to:)-(RGBImage)`` for a region of an image that holds at least its
    /// ``sourceWindow(width:height:)``.
    func apply(to region: ImageRegion) throws -> Tensor {
        let (width, height) = (region.fullWidth, region.fullHeight)
        precondition(width > 0 && height > 0, "ImagePreprocessing: empty image")
        let output = crop ?? resizedSize(width: width, height: height)
        let (outWidth, outHeight) = (output.width, output.height)
        guard outWidth <= Self.maxOutputPixels / outHeight else {
            throw SwerveError.invalid(
                "image of \(width)×\(height) pixels would be resized to \(outWidth)×\(outHeight), more than \(Self.maxOutputPixels) pixels"
            )
        }
        let place = placement(width: width, height: height, output: output)
        let (resized, left, top, columns, rows) = (place.resized, place.left, place.top, place.columns, place.rows)

        let table = lookupTable()
        let plane = outWidth * outHeight
        let count = plane * 3
        let nchw = layout == .nchw
        let data = [UInt8](unsafeUninitializedCapacity: count * 4) { bytes, initialized in
            UnsafeMutableRawBufferPointer(bytes).withMemoryRebound(to: Float.self) { floats in
                let out = floats.baseAddress!
                table.withUnsafeBufferPointer { table in
                    let lut = table.baseAddress!
                    if columns.count < outWidth || rows.count < outHeight {
                        // The crop reaches past the image: those samples are 0.
                        for c in 0..<3 {
                            for i in 0..<plane {
                                out[nchw ? c * plane + i : i * 3 + c] = lut[c * 256]
                            }
                        }
                    }
                    guard !columns.isEmpty, !rows.isEmpty else { return }
                    let order: (Int32, Int32, Int32) = channelOrder == .rgb ? (0, 1, 2) : (2, 1, 0)
                    withUnsafePointer(to: order) { tuple in
                        tuple.withMemoryRebound(to: Int32.self, capacity: 3) { order in
                            BilinearResampler.resample(region, width: resized.width, height: resized.height, columns: columns, rows: rows) { y, row in
                                let pixel = (y - top) * outWidth + columns.lowerBound - left
                                if nchw {
                                    let p0 = out + pixel
                                    swv_normalize_row(row, columns.count, lut, order, p0, p0 + plane, p0 + 2 * plane, 1)
                                } else {
                                    let p = out + pixel * 3
                                    swv_normalize_row(row, columns.count, lut, order, p, p + 1, p + 2, 3)
                                }
                            }
                        }
                    }
                }
                #if _endian(big)
                for i in 0..<count { out[i] = Float(bitPattern: out[i].bitPattern.littleEndian) }
                #endif
            }
            initialized = count * 4
        }
        return Tensor(dataType: .fp32, shape: nchw ? [3, outHeight, outWidth] : [outHeight, outWidth, 3], data: data)
    }

    /// The normalised value of every sample, 256 per output channel, in Float arithmetic as
    /// numpy's float32 computes `(v * scale / 255 - mean) / std`.
    func lookupTable() -> [Float] {
        var table = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            for v in 0..<256 {
                let x = scale == 255 ? Float(v) : Float(v) * scale / 255
                table[c * 256 + v] = (x - mean[c]) / std[c]
            }
        }
        return table
    }
}

/// Python's `//` on integers: rounds toward negative infinity.
func floorDivide(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
