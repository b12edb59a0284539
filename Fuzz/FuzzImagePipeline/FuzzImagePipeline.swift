import SwerveCore
import SwerveImage

/// libFuzzer target: the image pipeline as a model with an image input runs it on a request's
/// BYTES element: `preprocessBatch` → ``ImagePipeline/preprocess(_:)-([UInt8])`` → decode (the
/// window decode that reads only the part of a JPEG the resize and crop need), orientation,
/// resize, crop, normalisation. The first byte picks one of several preprocessing settings
/// (shorter-side and exact resizes, no resize, crops larger than the image, NHWC, BGR); the rest
/// is the encoded image. The pixel limit is 4 megapixels so that each input runs quickly.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImagePipeline(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard let selector = input.first else { return 0 }
    let pipeline = pipelines[Int(selector) % pipelines.count]
    let element = Tensor(dataType: .bytes, shape: [1], data: BytesCodec.encode([Array(input.dropFirst())]))
    _ = try? pipeline.preprocessBatch(element, name: "image")
    return 0
}

/// The preprocessing settings inputs are run through.
let pipelines: [ImagePipeline] = {
    let decoder = ImageDecoder(maxPixels: 1 << 22)
    func pipeline(_ resize: ImagePreprocessing.Resize, crop: ImageSize?, order: ImagePreprocessing.ChannelOrder = .rgb,
                  layout: ImagePreprocessing.Layout = .nchw) -> ImagePipeline {
        ImagePipeline(
            inputName: "image", decoder: decoder,
            preprocessing: ImagePreprocessing(
                resize: resize, crop: crop, mean: [127, 127, 127], std: [128, 128, 128], scale: 255, channelOrder: order, layout: layout))
    }
    return [
        ImagePipeline(inputName: "image", decoder: decoder, preprocessing: .torchvision),
        pipeline(.shorterSide(32), crop: ImageSize(width: 24, height: 24)),
        pipeline(.exact(ImageSize(width: 17, height: 9)), crop: nil, order: .bgr, layout: .nhwc),
        pipeline(.none, crop: ImageSize(width: 16, height: 16)),
        pipeline(.none, crop: nil),
        pipeline(.shorterSide(8), crop: ImageSize(width: 40, height: 3)),
        pipeline(.exact(ImageSize(width: 1, height: 1)), crop: ImageSize(width: 1, height: 1)),
    ]
}()
