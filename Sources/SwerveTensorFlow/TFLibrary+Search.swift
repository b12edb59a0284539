import Glibc
import SwerveCore

extension TFLibrary {
    /// One place to look for `libtensorflow_cc.so.2`, in the order they are tried.
    enum Candidate: Equatable, Sendable, CustomStringConvertible {
        /// The path given to the backend (the `--tensorflow-lib` flag).
        case explicitPath(String)
        /// The path in `$SWERVE_TENSORFLOW_LIB`.
        case environmentPath(String)
        /// A glob pattern for the `tensorflow-cpu` wheel inside a project's `.venv-frameworks`.
        case virtualEnvironment(pattern: String)
        /// A bare name handed to the system loader (`LD_LIBRARY_PATH`, `ldconfig`'s cache).
        case systemLoader(name: String)

        var description: String {
            switch self {
            case .explicitPath(let path): "--tensorflow-lib \(path)"
            case .environmentPath(let path): "$\(TFLibrary.environmentVariable) \(path)"
            case .virtualEnvironment(let pattern): pattern
            case .systemLoader(let name): "system loader \(name)"
            }
        }
    }

    /// The environment variable that names the library when no flag does.
    static let environmentVariable = "SWERVE_TENSORFLOW_LIB"
    /// Where the `tensorflow-cpu` wheel puts the library inside the frameworks' virtual environment.
    static let virtualEnvironmentPattern = ".venv-frameworks/lib/python3*/site-packages/tensorflow/" + fileName
    /// Names tried with the system loader, last: the wheel's library, and the C library of
    /// TensorFlow's `libtensorflow` archive, which exports the same C API.
    static let systemNames = [fileName, "libtensorflow.so.2"]

    /// The places to look, in order: the explicit path, else the environment variable (either is
    /// final when given), else `.venv-frameworks` in the current directory and in the executable's
    /// directory and each of its parents, then the system loader.
    ///
    /// A given path may name the library file or the folder that holds it (the wheel's `tensorflow/`).
    static func candidates(
        explicitPath: String?, environmentPath: String?, currentDirectory: String?, executablePath: String?
    ) -> [Candidate] {
        // A path the user names is final: falling back to another library would hide their mistake.
        if let explicitPath, !explicitPath.isEmpty {
            return [.explicitPath(explicitPath)]
        }
        if let environmentPath, !environmentPath.isEmpty {
            return [.environmentPath(environmentPath)]
        }
        var folders: [String] = currentDirectory.map { [$0] } ?? []
        if let executablePath {
            folders += LibraryPaths.selfAndParents(of: LibraryPaths.parent(of: executablePath))
        }
        var seen: Set<String> = []
        let environments = folders.filter { seen.insert($0).inserted }.map { folder in
            Candidate.virtualEnvironment(
                pattern: LibraryPaths.globEscaped(folder.hasSuffix("/") ? folder : folder + "/") + virtualEnvironmentPattern)
        }
        return environments + systemNames.map { .systemLoader(name: $0) }
    }

    /// Finds and opens the library, looking where ``candidates(explicitPath:environmentPath:currentDirectory:executablePath:)``
    /// says for this process.
    /// - Throws: ``SwerveError`` listing every place looked and how to install TensorFlow.
    static func locate(explicitPath: String?) throws(SwerveError) -> TFLibrary {
        try open(firstOf: candidates(
            explicitPath: explicitPath,
            environmentPath: getenv(environmentVariable).map { String(cString: $0) },
            currentDirectory: LibraryPaths.currentDirectory(),
            executablePath: LibraryPaths.executablePath()
        ))
    }

    /// Opens the first candidate that works.
    /// - Throws: ``SwerveError`` (`unavailable`) listing every candidate with the reason it failed.
    static func open(firstOf candidates: [Candidate]) throws(SwerveError) -> TFLibrary {
        var failures: [String] = []
        for candidate in candidates {
            let locations: [String]
            switch candidate {
            case .explicitPath(let path), .environmentPath(let path):
                locations = [LibraryPaths.isDirectory(path) ? path + "/" + fileName : path]
            case .systemLoader(let name):
                locations = [name]
            case .virtualEnvironment(let pattern):
                locations = LibraryPaths.expand(pattern)
                if locations.isEmpty {
                    failures.append("\(candidate): no such file")
                }
            }
            for location in locations {
                do {
                    return try TFLibrary.open(location)
                } catch {
                    // dlerror repeats the path it was given; say it once.
                    var reason = Substring(error.reason)
                    if reason.hasPrefix(location + ": ") {
                        reason = reason.dropFirst(location.count + 2)
                    }
                    let place = if case .virtualEnvironment = candidate { location } else { candidate.description }
                    failures.append("\(place): \(reason)")
                }
            }
        }
        throw SwerveError(.unavailable, notFoundMessage(failures))
    }

    /// The message for a library found nowhere: each place looked, and the install step.
    static func notFoundMessage(_ failures: [String]) -> String {
        """
        TensorFlow (\(fileName)) could not be loaded, so TensorFlow SavedModels cannot be served. Looked in:
        \(failures.map { "  - " + $0 }.joined(separator: "\n"))
        Install it with `scripts/setup.sh` (creates .venv-frameworks with the pinned tensorflow-cpu), or run \
        `pip install tensorflow-cpu==2.21.0` and pass --tensorflow-lib <site-packages>/tensorflow/\(fileName) \
        (or set $\(environmentVariable)).
        """
    }
}
