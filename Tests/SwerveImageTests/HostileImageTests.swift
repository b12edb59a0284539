import Foundation
import SwerveCore
import Testing

@testable import SwerveImage

struct HostileImageTests {
    /// Each hostile fixture and a part of the message it must get.
    static let cases: [(String, String)] = [
        ("hostile/empty.jpg", "empty image: the body has 0 bytes"),
        ("hostile/truncated.jpg", "invalid JPEG image: the file is truncated (no end-of-image marker after the image data)"),
        ("hostile/truncated.png", "invalid PNG image: unexpected end of file (the PNG is truncated)"),
        ("hostile/wrong_magic.jpg", "not a JPEG or PNG image (it starts with bytes 00 00 ff e0"),
        ("hostile/cat.gif", "not a JPEG or PNG image (it is a GIF image)"),
        ("hostile/huge_dimensions.png", "PNG image too large: it declares 100000×100000 pixels, more than the limit of 40000000 pixels"),
        ("hostile/huge_dimensions.jpg", "JPEG image too large: it declares 60000×60000 pixels"),
        ("hostile/corrupt_huffman.jpg", "invalid JPEG image: Corrupt JPEG data: 67 extraneous bytes before marker 0xd9"),
        ("hostile/text.jpg", "not a JPEG or PNG image (it starts with bytes 54 68 69 73"),
    ]

    /// Every hostile file is refused with an invalid-argument error whose message says what is wrong.
    @Test(arguments: cases)
    func hostileFileIsRefusedClearly(_ name: String, _ message: String) throws {
        let bytes = try Fixtures.bytes(name)
        let error = #expect(throws: SwerveError.self) { try ImageDecoder().decode(bytes) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(message) == true, "\(name): \(error?.message ?? "")")
        let pipeline = ImagePipeline(inputName: "input", preprocessing: .efficientNetLite)
        #expect(throws: SwerveError.self) { try pipeline.preprocess(bytes) }
    }

    /// The 100000×100000 PNG is refused from its header at once, before any pixel buffer exists.
    @Test func hugePNGIsRefusedBeforeAllocation() throws {
        let bytes = try Fixtures.bytes("hostile/huge_dimensions.png")
        #expect(bytes.count < 1000)
        let start = ContinuousClock.now
        for _ in 0..<100 {
            #expect(throws: SwerveError.self) { try ImageDecoder().decode(bytes) }
        }
        #expect(ContinuousClock.now - start < .seconds(1))
        // Even an absurd configured limit keeps the hard ceiling.
        let error = #expect(throws: SwerveError.self) { try ImageDecoder(maxPixels: .max).decode(bytes) }
        #expect(error?.message.contains("more than the limit of 1000000000 pixels") == true)
    }

    /// The pixel limit is configurable: a small limit refuses an ordinary photo, naming its size.
    @Test func pixelLimitIsConfigurable() throws {
        let bytes = try Fixtures.bytes("cat.jpg")
        let error = #expect(throws: SwerveError.self) { try ImageDecoder(maxPixels: 100_000).decode(bytes) }
        #expect(error?.message == "JPEG image too large: it declares 451×300 pixels, more than the limit of 100000 pixels")
        #expect(try ImageDecoder(maxPixels: 451 * 300).decode(bytes).width == 451)
    }

    /// A progressive JPEG with hundreds of repeated scans is refused instead of keeping a core busy.
    @Test func endlessScansAreRefused() throws {
        let jpeg = try Fixtures.bytes("variants/cat_progressive.jpg")
        let scans = (0..<(jpeg.count - 1)).filter { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xDA }
        try #require(scans.count > 2)
        // The first scan (DC coefficients) repeated 600 times: each copy decodes the same way.
        var bomb = Array(jpeg[..<scans[1]])
        for _ in 0..<600 { bomb += jpeg[scans[0]..<scans[1]] }
        bomb += jpeg[scans[1]...]
        let error = #expect(throws: SwerveError.self) { try ImageDecoder().decode(bomb) }
        #expect(error?.message == "invalid JPEG image: more than 500 progressive scans")
    }

    /// Truncating a JPEG or PNG anywhere, or flipping bytes in it, gives a decoded image or an error, never a crash.
    @Test func damagedImagesNeverCrash() throws {
        var random = SplitMix64(seed: 42)
        for name in ["cat.jpg", "variants/cat_progressive.jpg", "variants/espresso_palette4.png", "decode/interlaced.png"] {
            let original = try Fixtures.bytes(name)
            var damaged: [[UInt8]] = stride(from: 0, to: original.count, by: max(1, original.count / 40)).map { Array(original.prefix($0)) }
            for _ in 0..<40 {
                var copy = original
                for _ in 0..<4 {
                    copy[Int(random.next() % UInt64(copy.count))] = UInt8(truncatingIfNeeded: random.next())
                }
                damaged.append(copy)
            }
            for bytes in damaged {
                do {
                    let image = try ImageDecoder().decode(bytes)
                    #expect(image.pixels.count == image.width * image.height * 3)
                } catch let error as SwerveError {
                    #expect(error.code == .invalidArgument)
                    #expect(!error.message.isEmpty)
                }
            }
        }
    }
}

extension HostileImageTests {
    /// The pipeline decodes only the part of a JPEG its resize and crop read, yet refuses a
    /// damaged JPEG exactly when a whole decode does (damage below or beside the window
    /// included), and otherwise gives the same tensor.
    @Test(arguments: ["cat.jpg", "missile.jpg", "variants/cat_progressive.jpg", "variants/cat_gray.jpg"])
    func partialDecodeRefusesWhatWholeDecodeRefuses(_ name: String) throws {
        let original = try Fixtures.bytes(name)
        var random = SplitMix64(seed: 7)
        var damaged: [[UInt8]] = stride(from: original.count / 2, to: original.count, by: max(1, original.count / 60)).map {
            Array(original.prefix($0))
        }
        for _ in 0..<60 {
            var copy = original
            let at = original.count / 3 + Int(random.next() % UInt64(original.count * 2 / 3 - 2))
            copy[at] = UInt8(truncatingIfNeeded: random.next())
            damaged.append(copy)
        }
        let pipeline = ImagePipeline(inputName: "input", preprocessing: .efficientNetLite)
        var refused = 0
        for (index, bytes) in damaged.enumerated() {
            let whole = Result { try pipeline.preprocessing.apply(to: try pipeline.decoder.decode(bytes)) }
            let partial = Result { try pipeline.preprocess(bytes) }
            switch (whole, partial) {
            case (.success(let a), .success(let b)):
                #expect(a == b, "\(name) damage #\(index): the tensors differ")
            case (.failure, .failure):
                refused += 1
            default:
                Issue.record("\(name) damage #\(index): whole decode \(whole), partial decode \(partial)")
            }
        }
        #expect(refused > 0)
    }
}

/// A small deterministic random number generator (SplitMix64) for the tests' random data.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
