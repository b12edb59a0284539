/// A decoded image: 8-bit RGB samples, row after row, three bytes per pixel, no padding.
public struct RGBImage: Sendable, Equatable {
    /// Pixels per row.
    public var width: Int
    /// Rows.
    public var height: Int
    /// `width × height × 3` bytes: R, G, B of the top-left pixel first.
    public var pixels: [UInt8]

    /// Creates an image from its samples.
    /// - Precondition: `pixels.count == width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3, "RGBImage: pixel count does not match size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Creates an image of the given size and lets `fill` write every sample into uninitialised
    /// memory, without zeroing it first.
    init(width: Int, height: Int, fill: (UnsafeMutablePointer<UInt8>) throws -> Void) rethrows {
        let count = width * height * 3
        self.width = width
        self.height = height
        self.pixels = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress, count > 0 {
                try fill(base)
            }
            initialized = count
        }
    }
}
