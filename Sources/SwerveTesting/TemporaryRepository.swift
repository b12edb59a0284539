import Foundation

/// A model repository in a temporary folder, for tests: folders and files are created on demand
/// and removed with ``remove()``.
public struct TemporaryRepository: Sendable {
    /// The repository root.
    public let root: String

    /// Creates an empty repository in a new temporary folder.
    public init() throws {
        root = NSTemporaryDirectory() + "swerve-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// Adds a model folder with empty model files for `versions` and an optional config.pbtxt.
    public func addModel(_ name: String, versions: [Int] = [1], config: String? = nil) throws {
        for version in versions {
            let dir = "\(root)/\(name)/\(version)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: dir + "/model.onnx", contents: Data())
        }
        try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
        if let config {
            try config.write(toFile: "\(root)/\(name)/config.pbtxt", atomically: true, encoding: .utf8)
        }
    }

    /// Deletes the folder.
    public func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }
}
