import Foundation

/// A Triton-layout model repository on disk: `<root>/<model>/[config.pbtxt]` and numeric
/// version folders `<root>/<model>/<version>/`.
public struct ModelRepository: Sendable {
    /// One model folder as found on disk.
    public struct Entry: Sendable, Equatable {
        /// The model name (the folder name).
        public var name: String
        /// The model folder.
        public var path: String
        /// The numeric version folders found, ascending.
        public var versions: [Int]
        /// The text of `config.pbtxt`, if there is one.
        public var configText: String?
        /// Names, sizes and modification times of the files in the version folders, so a poll
        /// notices a model file that appeared or changed.
        public var fingerprint: String = ""
        /// A model file straight in the repository's root, served as version 1 under
        /// ``ModelRepository/defaultModelName``: its model folder is also its version folder.
        public var isBare = false

        /// The folder of one version.
        public func versionPath(_ version: Int) -> String { isBare ? path : path + "/" + String(version) }
    }

    /// The repository's root folder.
    public var root: String
    /// The name a bare `model.onnx` in the root is served under (KServe's storage initializer puts
    /// a single model there; Triton cannot serve that layout), or nil to ignore such a file.
    public var defaultModelName: String?

    /// The file a bare model is read from.
    static let bareModelFilename = "model.onnx"

    /// Creates a repository rooted at `root`.
    public init(root: String, defaultModelName: String? = nil) {
        self.root = root
        self.defaultModelName = defaultModelName
    }

    /// Lists the model folders, sorted by name. Hidden folders and files are ignored.
    /// - Throws: ``SwerveError`` (`notFound`) when the root is missing or not a folder.
    public func scan() throws -> [Entry] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw SwerveError.notFound("model repository '\(root)' does not exist or is not a folder")
        }
        let names = try fm.contentsOfDirectory(atPath: root).sorted()
        var entries = names.compactMap { name -> Entry? in
            guard !name.hasPrefix(".") else { return nil }
            return entry(named: name)
        }
        if let bare = bareEntry(), !entries.contains(where: { $0.name == bare.name }) {
            entries.append(bare)
            entries.sort { $0.name < $1.name }
        }
        return entries
    }

    /// The bare model in the root, when ``defaultModelName`` is set and `model.onnx` is there.
    private func bareEntry() -> Entry? {
        guard let name = defaultModelName else { return nil }
        let file = root + "/" + Self.bareModelFilename
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDir), !isDir.boolValue else { return nil }
        let attributes = try? FileManager.default.attributesOfItem(atPath: file)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
        let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return Entry(
            name: name, path: root, versions: [1], configText: try? String(contentsOfFile: root + "/config.pbtxt", encoding: .utf8),
            fingerprint: "\(Self.bareModelFilename):\(size):\(modified);", isBare: true)
    }

    /// Reads one model folder, or `nil` when there is no folder of that name.
    public func entry(named name: String) -> Entry? {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return nil }
        let fm = FileManager.default
        let path = root + "/" + name
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            return name == defaultModelName ? bareEntry() : nil
        }
        let children = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        let versions = children.compactMap { child -> Int? in
            guard let version = Self.parseVersion(child) else { return nil }
            var childIsDir: ObjCBool = false
            guard fm.fileExists(atPath: path + "/" + child, isDirectory: &childIsDir), childIsDir.boolValue else { return nil }
            return version
        }.sorted()
        let configText = try? String(contentsOfFile: path + "/config.pbtxt", encoding: .utf8)
        var fingerprint = ""
        for version in versions {
            let folder = path + "/" + String(version)
            for file in ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).sorted() {
                let attributes = try? fm.attributesOfItem(atPath: folder + "/" + file)
                let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
                let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                fingerprint += "\(version)/\(file):\(size):\(modified);"
            }
        }
        return Entry(name: name, path: path, versions: versions, configText: configText, fingerprint: fingerprint)
    }

    /// A version folder name is a positive decimal number without sign or leading zeros.
    static func parseVersion(_ name: String) -> Int? {
        guard let first = name.utf8.first, first != UInt8(ascii: "0"),
              name.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let value = Int(name), value > 0
        else { return nil }
        return value
    }
}
