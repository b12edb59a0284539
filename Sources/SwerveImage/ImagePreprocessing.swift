import SwerveCore

/// Turns a decoded image into a model's FP32 input: resize, center crop, per-channel
/// normalisation, channel order and layout, in one pass over the output.
///
/// The steps are those of the reference pipeline (Pillow + numpy):
/// 1. resize with Pillow's antialiased bilinear filter (``RGBImage/resized(width:height:)``),
///    so that the shorter side is ``Resize/shorterSide(_:)`` (the longer one is scaled by the same
///    factor and rounded half to even, as Python's `round`), or to an exact size;
/// 2. center crop `width × height` at offsets `(w − width) // 2`, `(h − height) // 2`; where
///    the crop reaches past the image (an image smaller than the crop) the samples are 0;
/// 3. per channel `(v × scale / 255 − mean) / std`, in `Float`;
/// 4. channels in RGB or BGR order, laid out `[3, H, W]` (NCHW) or `[H, W, 3]` (NHWC).
///
/// ```swift
/// let preprocessing = ImagePreprocessing.efficientNetLite
/// let tensor = try preprocessing.apply(to: try ImageDecoder().decode(jpegBytes))  // FP32 [3, 224, 224]
/// ```
public struct ImagePreprocessing: Sendable, Equatable {
    /// How the image is resized before cropping.
    public enum Resize: Sendable, Equatable {
        /// Keep the size.
        case none
        /// Scale so that the shorter side has this many pixels, keeping the aspect ratio.
        case shorterSide(Int)
        /// Scale to exactly this size, ignoring the aspect ratio.
        case exact(ImageSize)
    }

    /// The order of the three channels in the tensor.
    public enum ChannelOrder: String, Sendable, CaseIterable {
        /// Red, green, blue (PyTorch, TensorFlow).
        case rgb = "RGB"
        /// Blue, green, red (Caffe, OpenCV).
        case bgr = "BGR"
    }

    /// Where the channel dimension goes (the caller adds the batch dimension in front).
    public enum Layout: String, Sendable, CaseIterable {
        /// `[3, H, W]`, channels first (PyTorch, ONNX).
        case nchw = "NCHW"
        /// `[H, W, 3]`, channels last (TensorFlow).
        case nhwc = "NHWC"
    }

    /// The most pixels a preprocessed tensor may have: 4096 × 4096.
    public static let maxOutputPixels = 4096 * 4096

    /// The resize step.
    public var resize: Resize
    /// The crop size, or `nil` to keep the whole resized image.
    public var crop: ImageSize?
    /// Per-channel means, in the tensor's channel order, on the ``scale`` range.
    public var mean: [Float]
    /// Per-channel standard deviations, in the tensor's channel order, on the ``scale`` range.
    public var std: [Float]
    /// What a sample of 255 becomes before normalising: 255 for 0…255 values, 1 for 0…1.
    public var scale: Float
    /// The channel order of the tensor.
    public var channelOrder: ChannelOrder
    /// The layout of the tensor.
    public var layout: Layout

    /// Creates a preprocessing description.
    /// - Precondition: `mean` and `std` have three entries, `std` has no zeros.
    public init(
        resize: Resize = .shorterSide(256), crop: ImageSize? = ImageSize(width: 224, height: 224),
        mean: [Float], std: [Float], scale: Float, channelOrder: ChannelOrder = .rgb, layout: Layout = .nchw
    ) {
        precondition(mean.count == 3 && std.count == 3 && !std.contains(0), "ImagePreprocessing: three means and three non-zero stds")
        self.resize = resize
        self.crop = crop
        self.mean = mean
        self.std = std
        self.scale = scale
        self.channelOrder = channelOrder
        self.layout = layout
    }

    /// EfficientNet-Lite (and other TensorFlow-born models): shorter side 256, crop 224,
    /// `(v − 127) / 128` on 0…255, RGB, NCHW.
    public static let efficientNetLite = ImagePreprocessing(mean: [127, 127, 127], std: [128, 128, 128], scale: 255)

    /// torchvision's ImageNet models (and TorchServe's default image classifier): shorter side
    /// 256, crop 224, mean `[0.485, 0.456, 0.406]`, std `[0.229, 0.224, 0.225]` on 0…1, RGB, NCHW.
    public static let torchvision = ImagePreprocessing(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], scale: 1)

    /// The size an image of `width × height` has after the resize step.
    public func resizedSize(width: Int, height: Int) -> ImageSize {
        switch resize {
        case .none:
            return ImageSize(width: width, height: height)
        case .exact(let size):
            return size
        case .shorterSide(let side):
            // As the reference: scale = side / min(w, h); round(w * scale) with Python's round.
            let factor = Double(side) / Double(min(width, height))
            let w = (Double(width) * factor).rounded(.toNearestOrEven)
            let h = (Double(height) * factor).rounded(.toNearestOrEven)
            return ImageSize(width: max(1, Int(w)), height: max(1, Int(h)))
        }
    }

    /// The size of an exact resize, if that is the resize step.
    var exactSize: ImageSize? {
        if case .exact(let size) = resize { return size }
        return nil
    }

    /// The shape of the tensor an image of `width × height` becomes (without a batch dimension).
    public func outputShape(width: Int, height: Int) -> [Int] {
        let size = crop ?? resizedSize(width: width, height: height)
        return layout == .nchw ? [3, size.height, size.width] : [size.height, size.width, 3]
    }
}

/// A width and a height in pixels.
public struct ImageSize: Sendable, Hashable, CustomStringConvertible {
    /// Pixels per row.
    public var width: Int
    /// Rows.
    public var height: Int

    /// Creates a size.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// `224x224`, as the configuration writes sizes.
    public var description: String { "\(width)x\(height)" }
}
