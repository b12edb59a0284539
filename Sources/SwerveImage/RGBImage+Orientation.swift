extension RGBImage {
    /// The image turned and mirrored as `orientation` says, so that it displays upright: the
    /// same result as Pillow's `ImageOps.exif_transpose`. Returns `self` for ``ExifOrientation/up``.
    public func oriented(_ orientation: ExifOrientation) -> RGBImage {
        guard orientation != .up, width > 0, height > 0 else { return self }
        let (outWidth, outHeight) = orientation.swapsAxes ? (height, width) : (width, height)
        // Source pixel of output (x, y) = origin + x * stepX + y * stepY, in pixels.
        let w = width, h = height
        let (origin, stepX, stepY): (Int, Int, Int) =
            switch orientation {
            case .up: (0, 1, w)
            case .upMirrored: (w - 1, -1, w)  // s(W-1-x, y)
            case .down: ((h - 1) * w + w - 1, -1, -w)  // s(W-1-x, H-1-y)
            case .downMirrored: ((h - 1) * w, 1, -w)  // s(x, H-1-y)
            case .leftMirrored: (0, w, 1)  // s(y, x)
            case .right: ((h - 1) * w, -w, 1)  // s(y, H-1-x)
            case .rightMirrored: ((h - 1) * w + w - 1, -w, -1)  // s(W-1-y, H-1-x)
            case .left: (w - 1, w, -1)  // s(W-1-y, x)
            }
        return pixels.withUnsafeBufferPointer { source in
            let src = source.baseAddress!
            return RGBImage(width: outWidth, height: outHeight) { out in
                var o = 0
                for y in 0..<outHeight {
                    var s = origin + y * stepY
                    for _ in 0..<outWidth {
                        let p = s * 3
                        out[o] = src[p]
                        out[o + 1] = src[p + 1]
                        out[o + 2] = src[p + 2]
                        o += 3
                        s += stepX
                    }
                }
            }
        }
    }
}
