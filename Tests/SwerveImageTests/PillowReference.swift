import Foundation
import SwerveImage

/// Runs scripts/image_reference.py (Pillow + numpy, the reference pipeline) with the project's
/// .venv Python and reads its raw output. Tests that use it are skipped when the .venv is missing
/// (`scripts/setup.sh` or `make setup` creates it).
enum PillowReference {
    static let python = Fixtures.projectRoot.appendingPathComponent(".venv/bin/python").path
    static let script = Fixtures.projectRoot.appendingPathComponent("scripts/image_reference.py").path

    static let isAvailable = FileManager.default.isExecutableFile(atPath: python)

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs the script and returns its stdout.
    static func run(_ arguments: [String]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "image_reference.py \(arguments.joined(separator: " ")) failed: \(errorText)")
        }
        return [UInt8](data)
    }

    /// Pillow's decode of each file (EXIF orientation applied, converted to RGB).
    static func decode(_ paths: [String]) throws -> [RGBImage] {
        try images(in: run(["decode"] + paths))
    }

    /// Pillow's decode of a file resized with `Image.BILINEAR`.
    static func resize(_ path: String, width: Int, height: Int) throws -> RGBImage {
        try images(in: run(["resize", path, String(width), String(height)]))[0]
    }

    /// The reference pipeline's float32 [3, crop, crop] tensor.
    static func preprocess(_ path: String, resize: Int, crop: Int, mean: String, std: String, scale: String) throws -> [Float] {
        let bytes = try run(["preprocess", path, String(resize), String(crop), mean, std, scale])
        return bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    private static func images(in bytes: [UInt8]) throws -> [RGBImage] {
        var result: [RGBImage] = []
        var offset = 0
        func u32(_ at: Int) -> Int {
            Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
        }
        while offset + 8 <= bytes.count {
            let width = u32(offset), height = u32(offset + 4)
            let count = width * height * 3
            guard offset + 8 + count <= bytes.count else { throw Failure(description: "short reference output") }
            result.append(RGBImage(width: width, height: height, pixels: Array(bytes[(offset + 8)..<(offset + 8 + count)])))
            offset += 8 + count
        }
        return result
    }
}

/// Reads the FP32 values of a tensor.
func floats(_ data: [UInt8]) -> [Float] {
    data.withUnsafeBytes { raw in
        (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
    }
}
