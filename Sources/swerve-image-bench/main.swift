// swerve-image-bench: how many encoded images per second SwerveImage decodes and preprocesses on
// one thread, for bench/image_preprocess.py, which measures Pillow + numpy doing the same steps
// in the same run.
//
// usage: swerve-image-bench [--seconds S] [--preprocessing efficientnet|torchvision] IMAGE...
// prints one JSON object: per image and for all images in turn, images per second and ms per image.

import Foundation
import SwerveCore
import SwerveImage

struct Options {
    var seconds = 2.0
    var preprocessing = ImagePreprocessing.efficientNetLite
    var paths: [String] = []
}

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    var rest = arguments[...]
    while let argument = rest.popFirst() {
        switch argument {
        case "--seconds":
            guard let value = rest.popFirst().flatMap(Double.init), value > 0 else { usage() }
            options.seconds = value
        case "--preprocessing":
            switch rest.popFirst() {
            case "efficientnet": options.preprocessing = .efficientNetLite
            case "torchvision": options.preprocessing = .torchvision
            default: usage()
            }
        case let path where !path.hasPrefix("-"):
            options.paths.append(path)
        default:
            usage()
        }
    }
    if options.paths.isEmpty { usage() }
    return options
}

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: swerve-image-bench [--seconds S] [--preprocessing efficientnet|torchvision] IMAGE...\n".utf8))
    exit(2)
}

/// Runs `body` over `inputs` in turn for at least `seconds` and returns images per second.
func measure(_ inputs: [[UInt8]], seconds: Double, _ body: ([UInt8]) throws -> Void) rethrows -> Double {
    for input in inputs { try body(input) }  // warm up
    let clock = ContinuousClock()
    let start = clock.now
    var count = 0
    var elapsed = Duration.zero
    repeat {
        for input in inputs { try body(input) }
        count += inputs.count
        elapsed = clock.now - start
    } while elapsed < .milliseconds(Int(seconds * 1000))
    let total = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return Double(count) / total
}

let options = parse(Array(CommandLine.arguments.dropFirst()))
Malloc.keepRequestBuffers()  // as the server does
let pipeline = ImagePipeline(inputName: "input", preprocessing: options.preprocessing)
var images: [[String: Any]] = []
var inputs: [[UInt8]] = []
do {
    for path in options.paths {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        inputs.append(bytes)
        let decoded = try pipeline.decoder.decode(bytes)
        let rate = try measure([bytes], seconds: options.seconds) { _ = try pipeline.preprocess($0) }
        let decodeRate = try measure([bytes], seconds: options.seconds / 2) { _ = try pipeline.decoder.decode($0) }
        let applyRate = try measure([bytes], seconds: options.seconds / 2) { _ in _ = try pipeline.preprocessing.apply(to: decoded) }
        images.append([
            "name": URL(fileURLWithPath: path).lastPathComponent, "bytes": bytes.count,
            "width": decoded.width, "height": decoded.height,
            "images_per_second": rate, "ms_per_image": 1000 / rate, "decode_ms_per_image": 1000 / decodeRate,
            "preprocess_ms_per_image": 1000 / applyRate,
        ])
    }
    let mix = try measure(inputs, seconds: options.seconds) { _ = try pipeline.preprocess($0) }
    let result: [String: Any] = [
        "implementation": "swerve", "threads": 1, "images": images,
        "all_images_per_second": mix, "all_ms_per_image": 1000 / mix,
    ]
    let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    FileHandle.standardOutput.write(json + Data("\n".utf8))
} catch {
    FileHandle.standardError.write(Data("swerve-image-bench: \(error)\n".utf8))
    exit(1)
}
