import SwerveCore

/// A model's image pipeline: encoded JPEG or PNG bytes in, the model's FP32 image input out,
/// and the classification post-processing for its output. Protocol-free: frontends and the
/// scheduler hand it bytes and get a ``Tensor`` (without the batch dimension) or an error.
///
/// Built from the `parameters` of the model's `config.pbtxt` (see ``ParameterKey`` for the keys):
/// ```
/// parameters { key: "image_input" value: { string_value: "input" } }
/// parameters { key: "image_mean" value: { string_value: "127" } }
/// parameters { key: "image_std" value: { string_value: "128" } }
/// parameters { key: "image_scale" value: { string_value: "255" } }
/// ```
/// ```swift
/// if let pipeline = try ImagePipeline(parameters: config.parameters.mapValues(\.stringValue)) {
///     let input = try pipeline.preprocess(body)                      // FP32 [3, 224, 224]
///     ...
///     let top5 = try pipeline.postprocessing.classify(logits, labels: labels)
/// }
/// ```
/// Decoding and resizing are CPU work (a few milliseconds per photo): run them off the event
/// loops. The value is immutable and `Sendable`; one instance serves any number of threads.
public struct ImagePipeline: Sendable, Equatable {
    /// The name of the model input that receives the image tensor.
    public var inputName: String
    /// How images are decoded (the pixel limit).
    public var decoder: ImageDecoder
    /// How decoded images become the input tensor.
    public var preprocessing: ImagePreprocessing
    /// How the model's output becomes the top classes.
    public var postprocessing: ClassificationPostprocessing

    /// Creates a pipeline from its parts.
    public init(
        inputName: String, decoder: ImageDecoder = ImageDecoder(), preprocessing: ImagePreprocessing,
        postprocessing: ClassificationPostprocessing = ClassificationPostprocessing()
    ) {
        self.inputName = inputName
        self.decoder = decoder
        self.preprocessing = preprocessing
        self.postprocessing = postprocessing
    }

    /// Decodes, orients, resizes, crops and normalises an encoded image into the model's
    /// input: FP32 `[3, H, W]` (NCHW) or `[H, W, 3]` (NHWC), without the batch dimension.
    /// - Throws: ``SwerveError`` (`invalidArgument`) for bytes that are not a decodable JPEG or
    ///   PNG within the pixel limit, with a message naming the problem.
    public func preprocess(_ bytes: [UInt8]) throws -> Tensor {
        try bytes.withUnsafeBytes { try preprocess($0) }
    }

    /// Like ``preprocess(_:)-([UInt8])``, for one element of a BYTES tensor.
    public func preprocess(_ bytes: ArraySlice<UInt8>) throws -> Tensor {
        try bytes.withUnsafeBytes { try preprocess($0) }
    }

    /// Like ``preprocess(_:)-([UInt8])``, for bytes the caller holds.
    /// Only the part of a JPEG that the resize and crop read is decoded.
    public func preprocess(_ bytes: UnsafeRawBufferPointer) throws -> Tensor {
        try preprocessing.apply(to: try decoder.decode(bytes, window: preprocessing.sourceWindow))
    }

    /// The input shape when every image ends up the same size (a crop, or an exact resize),
    /// without the batch dimension; `nil` when it depends on the image.
    public var fixedInputShape: [Int]? {
        guard let size = preprocessing.crop ?? preprocessing.exactSize else { return nil }
        return preprocessing.layout == .nchw ? [3, size.height, size.width] : [size.height, size.width, 3]
    }
}
