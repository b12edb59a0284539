import Foundation
import SwerveCore
import Testing

@testable import SwerveImage

struct ImagePipelineTests {
    /// The bundled classifier's parameters (EfficientNet-Lite0).
    static let efficientNet = [
        "image_input": "input", "image_resize": "256", "image_crop": "224",
        "image_mean": "127", "image_std": "128", "image_scale": "255",
    ]

    /// Largest absolute difference between two equally long vectors.
    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// The full pipeline on the sample images matches the numpy reference (MODELS.md steps 1–5) with EfficientNet's settings.
    @Test(.enabled(if: PillowReference.isAvailable, "needs the .venv (scripts/setup.sh)"), arguments: Fixtures.samples + ["variants/cat_exif6.jpg"])
    func efficientNetPipelineMatchesReference(_ name: String) throws {
        let pipeline = try #require(try ImagePipeline(parameters: Self.efficientNet))
        let tensor = try pipeline.preprocess(try Fixtures.bytes(name))
        #expect(tensor.dataType == .fp32)
        #expect(tensor.shape == [3, 224, 224])
        let reference = try PillowReference.preprocess(Fixtures.path(name), resize: 256, crop: 224, mean: "127", std: "128", scale: "255")
        // One 8-bit step is 1/128 here; the resampler matches Pillow's to within one step.
        #expect(maxDifference(floats(tensor.data), reference) <= 1 / 128 + 1e-6)
    }

    /// With torchvision's mean and std on 0…1 values, the pipeline matches the numpy reference too.
    @Test(.enabled(if: PillowReference.isAvailable, "needs the .venv (scripts/setup.sh)"))
    func torchvisionPipelineMatchesReference() throws {
        let pipeline = try #require(try ImagePipeline(parameters: ["image_input": "x"]))
        #expect(pipeline.preprocessing == .torchvision)
        let tensor = try pipeline.preprocess(try Fixtures.bytes("missile.jpg"))
        let reference = try PillowReference.preprocess(
            Fixtures.path("missile.jpg"), resize: 256, crop: 224, mean: "0.485,0.456,0.406", std: "0.229,0.224,0.225", scale: "1")
        #expect(maxDifference(floats(tensor.data), reference) <= 1 / (255 * 0.224) + 1e-5)
    }

    /// NHWC puts the channels last and BGR reverses them; the values are those of NCHW RGB.
    @Test func layoutAndChannelOrder() throws {
        let bytes = try Fixtures.bytes("cat.jpg")
        let nchw = floats(try ImagePipeline(inputName: "x", preprocessing: .efficientNetLite).preprocess(bytes).data)
        var options = ImagePreprocessing.efficientNetLite
        options.layout = .nhwc
        options.channelOrder = .bgr
        let tensor = try ImagePipeline(inputName: "x", preprocessing: options).preprocess(bytes)
        #expect(tensor.shape == [224, 224, 3])
        let nhwc = floats(tensor.data)
        for (y, x) in [(0, 0), (17, 200), (223, 223), (100, 5)] {
            for c in 0..<3 {
                #expect(nhwc[(y * 224 + x) * 3 + (2 - c)] == nchw[c * 224 * 224 + y * 224 + x])
            }
        }
    }

    /// Decoding only the part of a JPEG that the resize and crop read gives the tensor of a whole
    /// decode, bit for bit: landscape and portrait (rows skipped above and below), progressive,
    /// gray, shrinking, enlarging, no crop, and a crop larger than the image.
    @Test(arguments: [
        "cat.jpg", "missile.jpg", "variants/cat_progressive.jpg", "variants/cat_gray.jpg", "variants/cat_exif6.jpg", "decode/orient_1.jpg",
    ])
    func partialDecodeGivesTheWholeDecodesTensor(_ name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let settings: [ImagePreprocessing] = [
            .efficientNetLite, .torchvision,
            ImagePreprocessing(resize: .shorterSide(96), crop: ImageSize(width: 64, height: 80), mean: [0, 0, 0], std: [1, 1, 1], scale: 255),
            ImagePreprocessing(resize: .shorterSide(600), crop: ImageSize(width: 300, height: 200), mean: [0, 0, 0], std: [1, 1, 1], scale: 255),
            ImagePreprocessing(resize: .none, crop: ImageSize(width: 100, height: 500), mean: [0, 0, 0], std: [1, 1, 1], scale: 255),
            ImagePreprocessing(resize: .exact(ImageSize(width: 50, height: 50)), crop: nil, mean: [0, 0, 0], std: [1, 1, 1], scale: 255),
        ]
        // Without orientation, the EXIF-rotated file is a portrait image decoded in part too.
        for decoder in [ImageDecoder(), ImageDecoder(appliesOrientation: false)] {
            for preprocessing in settings {
                let pipeline = ImagePipeline(inputName: "x", decoder: decoder, preprocessing: preprocessing)
                let whole = try preprocessing.apply(to: try decoder.decode(bytes))
                #expect(try pipeline.preprocess(bytes) == whole, "\(name), \(preprocessing)")
            }
        }
    }

    /// An exact resize ignores the aspect ratio; without a crop the tensor has the resized size.
    @Test func exactResizeAndNoCrop() throws {
        let pipeline = try #require(try ImagePipeline(parameters: ["image_input": "x", "image_resize": "320x240", "image_crop": "none"]))
        #expect(pipeline.fixedInputShape == [3, 240, 320])
        #expect(try pipeline.preprocess(try Fixtures.bytes("missile.jpg")).shape == [3, 240, 320])
        let shorter = try #require(try ImagePipeline(parameters: ["image_input": "x", "image_crop": "none", "image_layout": "nhwc"]))
        #expect(shorter.fixedInputShape == nil)
        #expect(try shorter.preprocess(try Fixtures.bytes("cat.jpg")).shape == [256, 385, 3])
    }

    /// A crop larger than the image is filled with the normalised value of a zero sample, as Pillow's crop fills with black.
    @Test func cropPastTheImageIsZeroFilled() throws {
        let gray = RGBImage(width: 4, height: 2, pixels: [UInt8](repeating: 255, count: 24))
        let options = ImagePreprocessing(resize: .none, crop: ImageSize(width: 6, height: 4), mean: [127, 127, 127], std: [128, 128, 128], scale: 255)
        let values = floats(try options.apply(to: gray).data)
        let zero: Float = -127 / 128, white: Float = 1
        // Offsets (4 − 6) // 2 = −1 and (2 − 4) // 2 = −1: rows 1…2, columns 1…4 hold the image.
        let row: [Float] = [zero, white, white, white, white, zero]
        let plane = [Float](repeating: zero, count: 6) + row + row + [Float](repeating: zero, count: 6)
        #expect(values == plane + plane + plane)
    }

    /// A long thin image resized by its shorter side without a crop is refused instead of asking for gigabytes.
    @Test func hugeOutputIsRefused() throws {
        let thin = RGBImage(width: 1, height: 2000, pixels: [UInt8](repeating: 9, count: 6000))
        let options = ImagePreprocessing(resize: .shorterSide(256), crop: nil, mean: [0, 0, 0], std: [1, 1, 1], scale: 255)
        let error = #expect(throws: SwerveError.self) { try options.apply(to: thin) }
        #expect(error?.message == "image of 1×2000 pixels would be resized to 256×512000, more than 16777216 pixels")
        var cropped = options
        cropped.crop = ImageSize(width: 224, height: 224)
        #expect(try cropped.apply(to: thin).shape == [3, 224, 224])
    }

    /// Configuration: defaults, sizes, one or three numbers, case-insensitive choices, postprocessing keys.
    @Test func parsesParameters() throws {
        #expect(try ImagePipeline(parameters: [:]) == nil)
        #expect(try ImagePipeline(parameters: ["max_batch_delay": "5", "postprocess_top_k": "3"]) == nil)
        let pipeline = try #require(try ImagePipeline(parameters: Self.efficientNet.merging([
            "image_crop": "224x160", "image_channel_order": "bgr", "image_layout": "NHWC", "image_max_pixels": "1000000",
            "image_mean": "[1, 2, 3]", "postprocess_softmax": "false", "postprocess_top_k": "10",
        ]) { $1 }))
        #expect(pipeline.inputName == "input")
        #expect(pipeline.preprocessing.resize == .shorterSide(256))
        #expect(pipeline.preprocessing.crop == ImageSize(width: 224, height: 160))
        #expect(pipeline.preprocessing.mean == [1, 2, 3])
        #expect(pipeline.preprocessing.std == [128, 128, 128])
        #expect(pipeline.preprocessing.channelOrder == .bgr && pipeline.preprocessing.layout == .nhwc)
        #expect(pipeline.decoder.maxPixels == 1_000_000)
        #expect(pipeline.postprocessing == ClassificationPostprocessing(softmax: false, topK: 10))
        #expect(pipeline.fixedInputShape == [160, 224, 3])
        #expect(try ImagePipeline(parameters: ["image_input": "x"])?.postprocessing == ClassificationPostprocessing(softmax: true, topK: 5))
    }

    /// Bad values are refused with a message naming the key and what was expected.
    @Test(arguments: [
        (["image_input": "x", "image_resise": "256"], "unknown config parameter 'image_resise'"),
        (["image_resize": "256"], "config parameters image_resize need 'image_input'"),
        (["image_input": "  "], "config parameter 'image_input' is empty"),
        (["image_input": "x", "image_crop": "224x"], "config parameter 'image_crop': '224x' is not a size in pixels"),
        (["image_input": "x", "image_resize": "5000x5000"], "config parameter 'image_resize': 5000x5000 is more than 16777216 pixels"),
        (["image_input": "x", "image_resize": "-3"], "config parameter 'image_resize': '-3' is not a size"),
        (["image_input": "x", "image_mean": "1,2"], "config parameter 'image_mean': '1,2' is not one number or three"),
        (["image_input": "x", "image_std": "0.2,0,0.2"], "config parameter 'image_std': channel 1 is 0"),
        (["image_input": "x", "image_mean": "127", "image_std": "128"], "'image_mean': 127 lies outside 0…1 (image_scale 1); for means on 0…255 values set image_scale to 255"),
        (["image_input": "x", "image_scale": "zero"], "config parameter 'image_scale': 'zero' is not a positive number"),
        (["image_input": "x", "image_layout": "CHWN"], "config parameter 'image_layout': 'CHWN' is not NCHW or NHWC"),
        (["image_input": "x", "image_channel_order": "RGBA"], "'RGBA' is not RGB or BGR"),
        (["image_input": "x", "image_max_pixels": "99999999999"], "'image_max_pixels': '99999999999' is not an integer from 1 to 1000000000"),
        (["image_input": "x", "postprocess_softmax": "maybe"], "config parameter 'postprocess_softmax': 'maybe' is not true or false"),
        (["image_input": "x", "postprocess_top_k": "0"], "config parameter 'postprocess_top_k': '0' is not an integer"),
    ])
    func refusesBadParameters(_ parameters: [String: String], _ message: String) {
        let error = #expect(throws: SwerveError.self) { try ImagePipeline(parameters: parameters) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
    }

    /// A BYTES-tensor element (an ArraySlice) goes through the same pipeline as a whole body.
    @Test func preprocessesSlices() throws {
        let bytes = try Fixtures.bytes("espresso.png")
        let pipeline = ImagePipeline(inputName: "x", preprocessing: .efficientNetLite)
        let padded = [0, 1, 2] + bytes + [9]
        #expect(try pipeline.preprocess(padded[3..<(3 + bytes.count)]) == pipeline.preprocess(bytes))
    }
}
