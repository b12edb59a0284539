import Glibc

/// File system helpers the backends use to find their shared libraries: globbing, parent
/// folders, the current directory and the running executable.
package enum LibraryPaths {
    /// The paths that match a glob pattern, sorted; none when nothing matches.
    package static func expand(_ pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        guard glob(pattern, 0, nil, &matches) == 0 else { return [] }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    /// `text` with glob's special characters escaped, so that a folder name matches only itself.
    package static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "*" || character == "?" || character == "[" || character == "\\" {
                escaped.append("\\")
            }
            escaped.append(character)
        }
        return escaped
    }

    /// The folder that holds `path`: `/a/b` for `/a/b/c`, `/` for `/a`, `.` for a bare name.
    package static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `path` and each folder above it, ending with `/`: `["/a/b", "/a", "/"]` for `/a/b`.
    package static func selfAndParents(of path: String) -> [String] {
        var result = [path]
        var current = path
        while current != "/" && current != "." {
            current = parent(of: current)
            result.append(current)
        }
        return result
    }

    /// Whether `path` is a folder (following symbolic links).
    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The process's working directory.
    package static func currentDirectory() -> String? {
        guard let buffer = getcwd(nil, 0) else { return nil }
        defer { free(buffer) }
        return String(cString: buffer)
    }

    /// The running executable (`.build/debug/swerve`, or the test runner), from `/proc/self/exe`.
    package static func executablePath() -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = buffer.withUnsafeMutableBufferPointer { bytes in
            bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                readlink("/proc/self/exe", $0, Int(PATH_MAX))
            }
        }
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<length], as: UTF8.self)
    }
}
