import Glibc
import SwerveCore

extension TorchShimLibrary {
    /// The environment variable that names the shim when no path is given to the backend.
    static let environmentVariable = "SWERVE_TORCH_SHIM"
    /// Where scripts/build_torch_shim.sh writes the shim, relative to a Swerve checkout.
    static let buildPath = ".build-native/libswerve_torch_shim.so"

    /// The files to try, in order: the explicit path, else `$SWERVE_TORCH_SHIM`, else
    /// ``buildPath`` under the current directory and under the executable's directory and each
    /// directory above it (`.build/debug/swerve` finds the checkout's `.build-native`).
    ///
    /// A path the user names is the only one tried: falling back to another shim would hide their
    /// mistake.
    static func candidates(
        explicitPath: String?, environmentPath: String?, currentDirectory: String?, executablePath: String?
    ) -> [String] {
        if let explicitPath, !explicitPath.isEmpty {
            return [explicitPath]
        }
        if let environmentPath, !environmentPath.isEmpty {
            return [environmentPath]
        }
        var directories: [String] = currentDirectory.map { [$0] } ?? []
        if let executablePath {
            directories += LibraryPaths.selfAndParents(of: LibraryPaths.parent(of: executablePath))
        }
        var seen: Set<String> = []
        return directories.compactMap { directory in
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + buildPath
            return seen.insert(path).inserted ? path : nil
        }
    }

    /// Finds and opens the shim, looking where ``candidates(explicitPath:environmentPath:currentDirectory:executablePath:)``
    /// says for this process.
    /// - Throws: ``SwerveError`` (`unavailable`) listing every place looked, why each failed,
    ///   and how to build the shim.
    static func locate(explicitPath: String?) throws(SwerveError) -> TorchShimLibrary {
        let candidates = candidates(
            explicitPath: explicitPath,
            environmentPath: getenv(environmentVariable).map { String(cString: $0) },
            currentDirectory: LibraryPaths.currentDirectory(),
            executablePath: LibraryPaths.executablePath())
        var failures: [String] = []
        for path in candidates {
            guard access(path, F_OK) == 0 else {
                failures.append("\(path): no such file")
                continue
            }
            do {
                return try open(absolute(path))
            } catch {
                failures.append("\(path): \(error.reason)")
            }
        }
        throw SwerveError(.unavailable, notFoundMessage(failures))
    }

    static func notFoundMessage(_ failures: [String]) -> String {
        """
        PyTorch (libswerve_torch_shim.so, Swerve's C interface to libtorch) could not be loaded, \
        so TorchScript models (platform pytorch_libtorch) cannot be served; every other model can. Looked in:
        \(failures.map { "  - " + $0 }.joined(separator: "\n"))
        Install it with `make setup` (scripts/setup.sh installs the pinned torch wheel into \
        .venv-frameworks, then scripts/build_torch_shim.sh builds the shim from it into \(buildPath)), \
        or name a built shim with --torch-shim or $\(environmentVariable).
        """
    }

    /// `path` made absolute against the current directory, so that the path reported is the file loaded.
    private static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/"), let directory = LibraryPaths.currentDirectory() else { return path }
        return directory + "/" + path
    }
}
