import Foundation
import Logging
import SwerveCore
@testable import SwerveTensorFlow
import Testing

/// Where the backend looks for TensorFlow, when, and what it says when it is not there.
struct TFLibrarySearchTests {
    /// A flag or environment variable names the one library to open: a wrong path is an error, not a fallback.
    @Test func namedPathsAreFinal() {
        #expect(TFLibrary.candidates(
            explicitPath: "/opt/tf/libtensorflow_cc.so.2", environmentPath: "/env/libtensorflow_cc.so.2",
            currentDirectory: "/work/main", executablePath: nil) == [.explicitPath("/opt/tf/libtensorflow_cc.so.2")])
        #expect(TFLibrary.candidates(
            explicitPath: "", environmentPath: "/env/libtensorflow_cc.so.2",
            currentDirectory: "/work/main", executablePath: nil) == [.environmentPath("/env/libtensorflow_cc.so.2")])
    }

    /// Without a named path: .venv-frameworks here and above the executable, then the system loader.
    @Test func candidatesAreTriedInDocumentedOrder() {
        let candidates = TFLibrary.candidates(
            explicitPath: nil, environmentPath: "", currentDirectory: "/work/main", executablePath: "/work/main/.build/debug/swerve")
        let pattern = ".venv-frameworks/lib/python3*/site-packages/tensorflow/libtensorflow_cc.so.2"
        #expect(candidates == [
            .virtualEnvironment(pattern: "/work/main/" + pattern),
            .virtualEnvironment(pattern: "/work/main/.build/debug/" + pattern),
            .virtualEnvironment(pattern: "/work/main/.build/" + pattern),
            .virtualEnvironment(pattern: "/work/" + pattern),
            .virtualEnvironment(pattern: "/" + pattern),
            .systemLoader(name: "libtensorflow_cc.so.2"),
            .systemLoader(name: "libtensorflow.so.2"),
        ])
    }

    /// Folder names with glob characters match only themselves.
    @Test func foldersAreEscapedInPatterns() {
        let candidates = TFLibrary.candidates(
            explicitPath: nil, environmentPath: nil, currentDirectory: "/tmp/a*[b]?", executablePath: nil)
        #expect(candidates.first == .virtualEnvironment(pattern: "/tmp/a\\*\\[b]\\?/" + TFLibrary.virtualEnvironmentPattern))
    }

    /// Creating the backend opens nothing; the first load does, and a missing library fails that
    /// load with every place looked and the install step.
    @Test func aMissingLibraryFailsTheLoadWithTheInstallStep() throws {
        let path = "/nonexistent/tensorflow/libtensorflow_cc.so.2"
        let backend = TensorFlowBackend(libraryPath: path, intraOpThreads: 1, interOpThreads: 1, logger: Logger(label: "test"))
        #expect(backend.name == "tensorflow")
        #expect(backend.platform == "tensorflow_savedmodel")
        #expect(backend.defaultModelFilename == "model.savedmodel")
        #expect(backend.libraryPath == nil)
        let error = try #require(throws: SwerveError.self) {
            try backend.loadInstance(modelPath: "/nonexistent/model/1/model.savedmodel", options: InstanceOptions())
        }
        #expect(error.code == .unavailable)
        #expect(error.message.contains("  - --tensorflow-lib \(path): cannot open shared object file"))
        #expect(error.message.contains("scripts/setup.sh"))
        #expect(error.message.contains("pip install tensorflow-cpu==2.21.0"))
        #expect(error.message.contains("$SWERVE_TENSORFLOW_LIB"))
        #expect(backend.libraryPath == nil)
        #expect(backend.version == nil)
    }

    /// A library that is not TensorFlow's says so.
    @Test func aLibraryWithoutTheCAPIIsRefused() {
        #expect(throws: SwerveError.self) { try TFLibrary.open(firstOf: [.systemLoader(name: "libm.so.6")]) }
        do {
            _ = try TFLibrary.open(firstOf: [.systemLoader(name: "libm.so.6")])
        } catch {
            #expect(error.message.contains("system loader libm.so.6: not TensorFlow's C API library (missing TF_Version"))
        }
    }

    /// The wheel's `tensorflow/` folder names the library inside it.
    @Test(.enabled(if: TFFixture.runsTFTests))
    func aFolderNamesTheLibraryInside() throws {
        let path = try #require(TFFixture.backend.libraryPath)
        let folder = String(path[..<path.lastIndex(of: "/")!])
        let library = try TFLibrary.open(firstOf: [.explicitPath(folder)])
        #expect(library.path == path)
        #expect(library.version == "2.21.0")
    }
}
