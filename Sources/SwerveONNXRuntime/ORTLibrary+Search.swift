import Glibc
import SwerveCore

extension ORTLibrary {
    /// One place to look for `libonnxruntime`, in the order they are tried.
    enum Candidate: Equatable, Sendable, CustomStringConvertible {
        /// The path given with `--onnxruntime-lib`.
        case explicitPath(String)
        /// The path in `$SWERVE_ONNXRUNTIME_LIB`.
        case environmentPath(String)
        /// A glob pattern for the library bundled with the executable: `lib/` beside the folder
        /// that holds it, as `make dist`'s tarball and the container image lay them out
        /// (`swerve/bin/swerve`, `swerve/lib/libonnxruntime.so.1.32.0`).
        case bundled(pattern: String)
        /// A glob pattern for the `onnxruntime` wheel inside a project's `.venv`.
        case virtualEnvironment(pattern: String)
        /// A bare name handed to the system loader (`LD_LIBRARY_PATH`, `ldconfig`'s cache).
        case systemLoader(name: String)

        var description: String {
            switch self {
            case .explicitPath(let path): "--onnxruntime-lib \(path)"
            case .environmentPath(let path): "$\(ORTLibrary.environmentVariable) \(path)"
            case .bundled(let pattern): "\(pattern) (bundled)"
            case .virtualEnvironment(let pattern): pattern
            case .systemLoader(let name): "system loader \(name)"
            }
        }
    }

    /// The environment variable that names the library when no flag does.
    static let environmentVariable = "SWERVE_ONNXRUNTIME_LIB"
    /// Where the `onnxruntime` wheel puts the library inside a virtual environment. The wheel
    /// ships only a versioned name (`libonnxruntime.so.1.32.0`), hence the trailing `*`.
    static let virtualEnvironmentPattern = ".venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*"
    /// Where a bundled library sits, relative to the folder above the executable's folder.
    static let bundledPattern = "lib/libonnxruntime.so*"
    /// Names tried with the system loader, last.
    static let systemNames = ["libonnxruntime.so", "libonnxruntime.so.1"]

    /// The places to look, in order: the flag, the environment variable, the library bundled with
    /// the executable (`<executable's folder>/../lib/libonnxruntime.so*`, with the executable's path
    /// resolved through `/proc/self/exe`, so a symbolic link to it works too), a `.venv` in the
    /// current directory and in the executable's directory and each of its parents, then the
    /// system loader. A flag or environment variable that is set is the only candidate.
    ///
    /// The bundled library comes before any `.venv`: it is the one the installed binary ships
    /// with, and a project's `.venv` in the current directory must not replace it.
    static func candidates(
        explicitPath: String?, environmentPath: String?, currentDirectory: String?, executablePath: String?
    ) -> [Candidate] {
        var result: [Candidate] = []
        // A path the user names is final: falling back to another library would hide their mistake.
        if let explicitPath, !explicitPath.isEmpty {
            return [.explicitPath(explicitPath)]
        }
        if let environmentPath, !environmentPath.isEmpty {
            return [.environmentPath(environmentPath)]
        }
        if let executablePath {
            let installation = LibraryPaths.parent(of: LibraryPaths.parent(of: executablePath))
            let prefix = installation.hasSuffix("/") ? installation : installation + "/"
            result.append(.bundled(pattern: LibraryPaths.globEscaped(prefix) + bundledPattern))
        }
        var directories: [String] = []
        if let currentDirectory {
            directories.append(currentDirectory)
        }
        if let executablePath {
            directories += LibraryPaths.selfAndParents(of: LibraryPaths.parent(of: executablePath))
        }
        var seen: Set<String> = []
        for directory in directories where seen.insert(directory).inserted {
            let prefix = directory.hasSuffix("/") ? directory : directory + "/"
            result.append(.virtualEnvironment(pattern: LibraryPaths.globEscaped(prefix) + virtualEnvironmentPattern))
        }
        result += systemNames.map { .systemLoader(name: $0) }
        return result
    }

    /// Finds and opens the library, looking where ``candidates(explicitPath:environmentPath:currentDirectory:executablePath:)``
    /// says for this process.
    /// - Throws: ``SwerveError`` listing every place looked and how to install ONNX Runtime.
    static func locate(explicitPath: String?) throws(SwerveError) -> ORTLibrary {
        try open(firstOf: candidates(
            explicitPath: explicitPath,
            environmentPath: getenv(environmentVariable).map { String(cString: $0) },
            currentDirectory: LibraryPaths.currentDirectory(),
            executablePath: LibraryPaths.executablePath()
        ))
    }

    /// Opens the first candidate that works.
    /// - Throws: ``SwerveError`` (`unavailable`) listing every candidate with the reason it failed.
    static func open(firstOf candidates: [Candidate]) throws(SwerveError) -> ORTLibrary {
        var failures: [String] = []
        for candidate in candidates {
            let locations: [String]
            switch candidate {
            case .explicitPath(let path), .environmentPath(let path):
                locations = [path]
            case .systemLoader(let name):
                locations = [name]
            case .bundled(let pattern), .virtualEnvironment(let pattern):
                locations = LibraryPaths.expand(pattern)
                if locations.isEmpty {
                    failures.append("\(candidate): no such file")
                }
            }
            for location in locations {
                do {
                    return try ORTLibrary.open(location)
                } catch {
                    // dlerror repeats the path it was given; say it once.
                    var reason = Substring(error.reason)
                    if reason.hasPrefix(location + ": ") {
                        reason = reason.dropFirst(location.count + 2)
                    }
                    failures.append("\(candidate.isPattern ? location : candidate.description): \(reason)")
                }
            }
        }
        throw SwerveError(.unavailable, notFoundMessage(failures))
    }

    static func notFoundMessage(_ failures: [String]) -> String {
        """
        ONNX Runtime (libonnxruntime.so) could not be loaded. Looked in:
        \(failures.map { "  - " + $0 }.joined(separator: "\n"))
        A `make dist` tarball or the container image bundles it in lib/ beside bin/swerve: keep \
        the two folders together. In a checkout, install it with `make setup` (creates .venv \
        with the pinned onnxruntime), or run \
        `pip install onnxruntime==1.32.0` and pass \
        --onnxruntime-lib <site-packages>/onnxruntime/capi/libonnxruntime.so.1.32.0 \
        (or set $\(environmentVariable)).
        """
    }
}

extension ORTLibrary.Candidate {
    var isPattern: Bool {
        switch self {
        case .bundled, .virtualEnvironment: true
        case .explicitPath, .environmentPath, .systemLoader: false
        }
    }
}
