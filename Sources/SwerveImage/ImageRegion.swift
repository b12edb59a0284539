/// The decoded pixels of a window of a larger image, and where the window lies in it.
///
/// The image pipeline decodes only the part of a JPEG that its resize and center crop read
/// (``ImagePreprocessing/sourceWindow(width:height:)``); the resampler then works in the whole
/// image's coordinates and reads the window's pixels.
struct ImageRegion {
    /// The window's pixels.
    var pixels: RGBImage
    /// The size of the whole image.
    var fullWidth: Int
    /// The size of the whole image.
    var fullHeight: Int
    /// The window's left column in the whole image.
    var x: Int
    /// The window's top row in the whole image.
    var y: Int

    /// A region that is the whole image.
    init(whole image: RGBImage) {
        self.init(pixels: image, fullWidth: image.width, fullHeight: image.height, x: 0, y: 0)
    }

    /// A region from its parts.
    /// - Precondition: the window lies inside the whole image.
    init(pixels: RGBImage, fullWidth: Int, fullHeight: Int, x: Int, y: Int) {
        precondition(x >= 0 && y >= 0 && x + pixels.width <= fullWidth && y + pixels.height <= fullHeight, "ImageRegion: window outside the image")
        self.pixels = pixels
        self.fullWidth = fullWidth
        self.fullHeight = fullHeight
        self.x = x
        self.y = y
    }

    /// The columns of the whole image the window holds.
    var columns: Range<Int> { x..<(x + pixels.width) }
    /// The rows of the whole image the window holds.
    var rows: Range<Int> { y..<(y + pixels.height) }
}
