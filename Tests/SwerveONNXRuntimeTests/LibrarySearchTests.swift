import Foundation
import SwerveCore
@testable import SwerveONNXRuntime
import Testing

struct LibrarySearchTests {
    /// The backend finds ONNX Runtime in the project's .venv and reports its path and version.
    @Test(.enabled(if: ORTFixture.runsORTTests))
    func backendOpensTheLibraryAndReportsItsVersion() throws {
        let backend = try ORTFixture.backend()
        #expect(backend.name == "onnxruntime")
        #expect(backend.platform == "onnxruntime_onnx")
        #expect(backend.defaultModelFilename == "model.onnx")
        #expect(backend.libraryPath.hasPrefix("/"))
        #expect(backend.libraryPath.contains("libonnxruntime.so"))
        #expect(FileManager.default.fileExists(atPath: backend.libraryPath))
        let parts = backend.version.split(separator: ".").compactMap { Int($0) }
        #expect(parts.count == 3)
        #expect(parts.first == 1 && parts.dropFirst().first.map { $0 >= 20 } == true)
    }

    /// An explicit library path is the one loaded, and the same library shares one runtime.
    @Test(.enabled(if: ORTFixture.runsORTTests))
    func explicitPathIsTheLibraryLoaded() throws {
        let path = try ORTFixture.backend().libraryPath
        let again = try ONNXRuntimeBackend(libraryPath: path)
        #expect(again.libraryPath == path)
        #expect(try ORTRuntime.shared(explicitPath: path, intraOpThreads: 1) === ORTRuntime.shared(explicitPath: path, intraOpThreads: 2))
    }

    /// A flag or environment variable names the one library to open: a wrong path is an error, not a fallback.
    @Test func namedPathsAreFinal() {
        #expect(ORTLibrary.candidates(
            explicitPath: "/opt/ort/libonnxruntime.so", environmentPath: "/env/libonnxruntime.so",
            currentDirectory: "/work/main", executablePath: nil) == [.explicitPath("/opt/ort/libonnxruntime.so")])
        #expect(ORTLibrary.candidates(
            explicitPath: nil, environmentPath: "/env/libonnxruntime.so",
            currentDirectory: "/work/main", executablePath: nil) == [.environmentPath("/env/libonnxruntime.so")])
    }

    /// Without a named path, candidates come in order: the bundled lib/, .venv here and above the executable, then the system loader.
    @Test func candidatesAreTriedInDocumentedOrder() {
        let candidates = ORTLibrary.candidates(
            explicitPath: nil, environmentPath: nil,
            currentDirectory: "/work/main", executablePath: "/work/main/.build/debug/swerve"
        )
        let pattern = ORTLibrary.virtualEnvironmentPattern
        #expect(candidates == [
            .bundled(pattern: "/work/main/.build/lib/libonnxruntime.so*"),
            .virtualEnvironment(pattern: "/work/main/" + pattern),
            .virtualEnvironment(pattern: "/work/main/.build/debug/" + pattern),
            .virtualEnvironment(pattern: "/work/main/.build/" + pattern),
            .virtualEnvironment(pattern: "/work/" + pattern),
            .virtualEnvironment(pattern: "/" + pattern),
            .systemLoader(name: "libonnxruntime.so"),
            .systemLoader(name: "libonnxruntime.so.1"),
        ])
    }

    /// An executable installed as PREFIX/bin/swerve looks in PREFIX/lib first; one in / looks in /lib.
    @Test func bundledLibraryIsLookedForBesideTheExecutablesFolder() {
        #expect(ORTLibrary.candidates(
            explicitPath: nil, environmentPath: nil, currentDirectory: nil, executablePath: "/opt/swerve/bin/swerve"
        ).first == .bundled(pattern: "/opt/swerve/lib/libonnxruntime.so*"))
        #expect(ORTLibrary.candidates(
            explicitPath: nil, environmentPath: nil, currentDirectory: nil, executablePath: "/swerve"
        ).first == .bundled(pattern: "/lib/libonnxruntime.so*"))
        #expect(ORTLibrary.candidates(
            explicitPath: nil, environmentPath: nil, currentDirectory: nil, executablePath: "/odd[1]/bin/swerve"
        ).first == .bundled(pattern: "/odd\\[1]/lib/libonnxruntime.so*"))
    }

    /// The library in a tarball's lib/ is opened for the tarball's bin/swerve, before a .venv in the current directory.
    @Test(.enabled(if: ORTFixture.runsORTTests))
    func bundledLibraryBesideTheExecutableIsOpenedFirst() throws {
        let venvBackend = try ORTFixture.backend()
        let venvLibrary = venvBackend.libraryPath
        let root = ORTFixture.temporaryDirectory()
        let manager = FileManager.default
        defer { try? manager.removeItem(atPath: root) }  // cleanup only: the test has already passed or failed
        let installation = root + "/swerve"
        try manager.createDirectory(atPath: installation + "/bin", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: installation + "/lib", withIntermediateDirectories: true)
        // A copy, not a link: dlopen of a file already loaded (same inode) reports the first path.
        let bundledLibrary = installation + "/lib/libonnxruntime.so.1.32.0"
        try manager.copyItem(atPath: venvLibrary, toPath: bundledLibrary)
        // The current directory's .venv holds a library too; the bundled one must win.
        let currentDirectory = ORTFixture.temporaryDirectory()
        let venvCapi = currentDirectory + "/.venv/lib/python3.11/site-packages/onnxruntime/capi"
        try manager.createDirectory(atPath: venvCapi, withIntermediateDirectories: true)
        try manager.createSymbolicLink(atPath: venvCapi + "/libonnxruntime.so.1.32.0", withDestinationPath: venvLibrary)

        let candidates = ORTLibrary.candidates(
            explicitPath: nil, environmentPath: nil,
            currentDirectory: currentDirectory, executablePath: installation + "/bin/swerve"
        )
        #expect(candidates.first == .bundled(pattern: installation + "/lib/libonnxruntime.so*"))
        let opened = try ORTLibrary.open(firstOf: candidates.filter { if case .systemLoader = $0 { false } else { true } })
        #expect(opened.path == bundledLibrary)
        #expect(opened.version == venvBackend.version)
    }

    /// Without a flag or environment variable the search starts at the current directory's .venv.
    @Test func emptySettingsAreSkipped() {
        let candidates = ORTLibrary.candidates(explicitPath: nil, environmentPath: "", currentDirectory: "/srv", executablePath: nil)
        #expect(candidates.first == .virtualEnvironment(pattern: "/srv/" + ORTLibrary.virtualEnvironmentPattern))
        #expect(candidates.count == 3)
    }

    /// When nothing opens, one error lists every place looked with its reason, and how to install ONNX Runtime.
    @Test func missingLibraryErrorListsEveryPlaceLooked() throws {
        let emptyFolder = ORTFixture.temporaryDirectory()
        let candidates = [.explicitPath("/nonexistent/flag/libonnxruntime.so"), .environmentPath("/nonexistent/env/libonnxruntime.so")]
            + ORTLibrary.candidates(explicitPath: nil, environmentPath: nil, currentDirectory: emptyFolder, executablePath: nil).filter { if case .systemLoader = $0 { false } else { true } } + [.systemLoader(name: "libonnxruntime-swerve-missing.so")]

        let error = #expect(throws: SwerveError.self) { try ORTLibrary.open(firstOf: candidates) }
        #expect(error?.code == .unavailable)
        let message = error?.message ?? ""
        #expect(message.contains("--onnxruntime-lib /nonexistent/flag/libonnxruntime.so: cannot open shared object file"))
        #expect(message.contains("$SWERVE_ONNXRUNTIME_LIB /nonexistent/env/libonnxruntime.so: cannot open shared object file"))
        #expect(message.contains("\(emptyFolder)/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*: no such file"))
        #expect(message.contains("system loader libonnxruntime-swerve-missing.so: "))
        #expect(message.contains("lib/ beside bin/swerve"))
        #expect(message.contains("make setup"))
        #expect(message.contains("pip install onnxruntime==1.32.0"))
        #expect(message.contains("--onnxruntime-lib <site-packages>"))
    }

    /// A shared library that is not ONNX Runtime is reported as such and the search goes on.
    @Test func otherLibraryIsNotMistakenForONNXRuntime() throws {
        let error = #expect(throws: SwerveError.self) {
            try ORTLibrary.open(firstOf: [.explicitPath("libm.so.6")])
        }
        #expect(error?.message.contains("--onnxruntime-lib libm.so.6: not an ONNX Runtime library (no OrtGetApiBase symbol)") == true)
    }

    /// Parents of a path are listed up to the root.
    @Test func parentsOfAPathReachTheRoot() {
        #expect(LibraryPaths.selfAndParents(of: "/a/b") == ["/a/b", "/a", "/"])
        #expect(LibraryPaths.parent(of: "/a") == "/")
    }
}
