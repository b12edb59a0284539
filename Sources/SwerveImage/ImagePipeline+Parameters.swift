import SwerveCore

extension ImagePipeline {
    /// The `config.pbtxt` `parameters` keys of the image pipeline. Each value is a
    /// `string_value`. A model has an image pipeline when it sets `image_input`; every other
    /// key is optional and defaults to TorchServe's default image classifier (torchvision's
    /// ImageNet preprocessing).
    ///
    /// | key | value | default |
    /// |---|---|---|
    /// | `image_input` | name of the model input that receives the image | none: no pipeline |
    /// | `image_resize` | `256`: shorter side to 256, aspect kept; `320x240`: exact size; `none` | `256` |
    /// | `image_crop` | `224` or `224x160` (width x height), center crop; `none` | `224` |
    /// | `image_mean` | one number, or three in the tensor's channel order (`0.485,0.456,0.406`) | `0.485,0.456,0.406` |
    /// | `image_std` | one or three numbers, none zero | `0.229,0.224,0.225` |
    /// | `image_scale` | `1`: samples on 0…1 before mean/std; `255`: on 0…255 | `1` |
    /// | `image_channel_order` | `RGB` or `BGR` | `RGB` |
    /// | `image_layout` | `NCHW` (`[3,H,W]`) or `NHWC` (`[H,W,3]`) | `NCHW` |
    /// | `image_max_pixels` | largest width × height an image may declare | `40000000` |
    /// | `postprocess_softmax` | `true` or `false`: softmax before top-k | `true` |
    /// | `postprocess_top_k` | how many classes to return | `5` |
    ///
    /// EfficientNet-Lite0 (the bundled classifier): `image_mean` `127`, `image_std` `128`,
    /// `image_scale` `255`. Unknown `image_…` and `postprocess_…` keys are refused, so that a
    /// typo is not silently ignored; other keys belong to others and are left alone.
    public enum ParameterKey: String, Sendable, CaseIterable {
        case input = "image_input"
        case resize = "image_resize"
        case crop = "image_crop"
        case mean = "image_mean"
        case std = "image_std"
        case scale = "image_scale"
        case channelOrder = "image_channel_order"
        case layout = "image_layout"
        case maxPixels = "image_max_pixels"
        case softmax = "postprocess_softmax"
        case topK = "postprocess_top_k"
    }

    /// The pipeline a model's configuration declares, or `nil` when it declares no image
    /// input (no `image_input` and no other `image_…` key).
    /// - Parameter parameters: `config.pbtxt` parameters, key → `string_value`.
    /// - Throws: ``SwerveError`` (`invalidArgument`) naming the key and what is wrong with its value.
    public init?(parameters: [String: String]) throws {
        try Self.checkKeys(parameters)
        guard let input = parameters[ParameterKey.input.rawValue] else {
            let stray = parameters.keys.filter { $0.hasPrefix("image_") }.sorted()
            guard stray.isEmpty else {
                throw SwerveError.invalid(
                    "config parameters \(stray.joined(separator: ", ")) need 'image_input', the name of the model input that receives the image"
                )
            }
            return nil
        }
        let name = input.trimmingWhitespace
        guard !name.isEmpty else { throw SwerveError.invalid("config parameter 'image_input' is empty: name the model's image input") }
        let reader = ParameterReader(parameters)
        let defaults = ImagePreprocessing.torchvision
        let scale = try reader.positiveNumber(.scale) ?? defaults.scale
        let mean = try reader.channelNumbers(.mean) ?? defaults.mean
        let std = try reader.channelNumbers(.std) ?? defaults.std
        if let zero = std.firstIndex(of: 0) {
            throw SwerveError.invalid("config parameter 'image_std': channel \(zero) is 0; a standard deviation must not be zero")
        }
        if let outside = mean.first(where: { $0 < 0 || $0 > scale }) {
            throw SwerveError.invalid(
                "config parameter 'image_mean': \(Self.format(outside)) lies outside 0…\(Self.format(scale)) (image_scale \(Self.format(scale))); for means on 0…255 values set image_scale to 255"
            )
        }
        let preprocessing = ImagePreprocessing(
            resize: try reader.resize() ?? defaults.resize,
            crop: try reader.crop() ?? defaults.crop,
            mean: mean, std: std, scale: scale,
            channelOrder: try reader.choice(.channelOrder, ImagePreprocessing.ChannelOrder.self) ?? .rgb,
            layout: try reader.choice(.layout, ImagePreprocessing.Layout.self) ?? .nchw
        )
        for (key, size) in [(ParameterKey.crop, preprocessing.crop), (ParameterKey.resize, preprocessing.exactSize)] {
            if let size, size.width > ImagePreprocessing.maxOutputPixels / size.height {
                throw SwerveError.invalid(
                    "config parameter '\(key.rawValue)': \(size) is more than \(ImagePreprocessing.maxOutputPixels) pixels"
                )
            }
        }
        let maxPixels = try reader.positiveInteger(.maxPixels, upTo: ImageDecoder.pixelCeiling) ?? ImageDecoder.defaultMaxPixels
        self.init(
            inputName: name, decoder: ImageDecoder(maxPixels: maxPixels), preprocessing: preprocessing,
            postprocessing: try ClassificationPostprocessing(configParameters: parameters)
        )
    }

    private static func checkKeys(_ parameters: [String: String]) throws {
        let known = Set(ParameterKey.allCases.map(\.rawValue))
        let unknown = parameters.keys.filter { ($0.hasPrefix("image_") || $0.hasPrefix("postprocess_")) && !known.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw SwerveError.invalid(
                "unknown config parameter\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", ")); the image pipeline knows \(ParameterKey.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
    }

    static func format(_ value: Float) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(value)
    }
}

/// Reads and checks the values of the pipeline's parameters.
struct ParameterReader {
    typealias Key = ImagePipeline.ParameterKey
    let parameters: [String: String]

    init(_ parameters: [String: String]) { self.parameters = parameters }

    func value(_ key: Key) -> String? {
        parameters[key.rawValue].map(\.trimmingWhitespace)
    }

    func invalid(_ key: Key, _ value: String, _ expected: String) -> SwerveError {
        SwerveError.invalid("config parameter '\(key.rawValue)': '\(value)' is not \(expected)")
    }

    func positiveInteger(_ key: Key, upTo limit: Int) throws -> Int? {
        guard let text = value(key) else { return nil }
        guard let number = Int(text), number >= 1, number <= limit else {
            throw invalid(key, text, "an integer from 1 to \(limit)")
        }
        return number
    }

    func positiveNumber(_ key: Key) throws -> Float? {
        guard let text = value(key) else { return nil }
        guard let number = Float(text), number.isFinite, number > 0 else { throw invalid(key, text, "a positive number") }
        return number
    }

    func boolean(_ key: Key) throws -> Bool? {
        guard let text = value(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "1": return true
        case "false", "no", "0": return false
        default: throw invalid(key, text, "true or false")
        }
    }

    func choice<T: RawRepresentable & CaseIterable>(_ key: Key, _: T.Type) throws -> T? where T.RawValue == String {
        guard let text = value(key) else { return nil }
        guard let found = T.allCases.first(where: { $0.rawValue.caseInsensitiveEquals(text) }) else {
            throw invalid(key, text, T.allCases.map(\.rawValue).joined(separator: " or "))
        }
        return found
    }

    /// One number for all channels, or three; separated by commas and/or spaces, brackets allowed.
    func channelNumbers(_ key: Key) throws -> [Float]? {
        guard let text = value(key) else { return nil }
        let parts = text.split { $0 == "," || $0 == " " || $0 == "[" || $0 == "]" || $0 == "\t" }
        let numbers = parts.compactMap { Float($0) }
        guard numbers.count == parts.count, numbers.count == 1 || numbers.count == 3, numbers.allSatisfy(\.isFinite) else {
            throw invalid(key, text, "one number or three numbers separated by commas")
        }
        return numbers.count == 1 ? Array(repeating: numbers[0], count: 3) : numbers
    }

    /// `N` (square) or `WxH`; `nil` for absent; `.some(nil)` for `none` / `0`.
    func size(_ key: Key) throws -> ImageSize?? {
        guard let text = value(key) else { return nil }
        if text.lowercased() == "none" || text == "0" { return .some(nil) }
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        let numbers = parts.compactMap { Int($0.trimmingWhitespace) }
        let limit = 65_536
        guard numbers.count == parts.count, numbers.count == 1 || numbers.count == 2, numbers.allSatisfy({ $0 >= 1 && $0 <= limit }) else {
            throw invalid(key, text, "a size in pixels like 224 or 224x160 (width x height, each 1 to \(limit)), or none")
        }
        return .some(ImageSize(width: numbers[0], height: numbers.count == 2 ? numbers[1] : numbers[0]))
    }

    func resize() throws -> ImagePreprocessing.Resize? {
        guard let text = value(.resize), let parsed = try size(.resize) else { return nil }
        guard let size = parsed else { return ImagePreprocessing.Resize.none }
        return text.lowercased().contains("x") ? .exact(size) : .shorterSide(size.width)
    }

    func crop() throws -> ImageSize?? {
        try size(.crop)
    }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }

    func caseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        lowercased() == other.lowercased()
    }
}
