import SwerveCore
@testable import SwerveTorch
import Testing

/// Where the backend looks for libswerve_torch_shim.so, and what it says when it is not there.
struct TorchShimSearchTests {
    /// A path given to the backend, or else in $SWERVE_TORCH_SHIM, is the only one tried.
    @Test func namedPathsAreFinal() {
        #expect(TorchShimLibrary.candidates(
            explicitPath: "/opt/shim.so", environmentPath: "/env/shim.so", currentDirectory: "/work/main", executablePath: nil) == ["/opt/shim.so"])
        #expect(TorchShimLibrary.candidates(
            explicitPath: "", environmentPath: "/env/shim.so", currentDirectory: "/work/main", executablePath: nil) == ["/env/shim.so"])
    }

    /// Otherwise the build folder under the current directory, then under the executable's folder and each above it.
    @Test func buildFoldersAreTriedInOrder() {
        let candidates = TorchShimLibrary.candidates(
            explicitPath: nil, environmentPath: nil, currentDirectory: "/work/main", executablePath: "/work/main/.build/debug/swerve")
        let shim = TorchShimLibrary.buildPath
        #expect(candidates == [
            "/work/main/" + shim, "/work/main/.build/debug/" + shim, "/work/main/.build/" + shim, "/work/" + shim, "/" + shim,
        ])
    }

    /// A backend whose shim is missing is created without error; its loads fail naming where it
    /// looked and the install step, and a later load tries again.
    @Test func missingShimFailsTheLoadWithTheInstallStep() throws {
        let backend = TorchBackend(shimPath: "/nonexistent/libswerve_torch_shim.so", threads: 1)
        #expect(backend.libraryPath == nil)
        for _ in 0..<2 {
            do {
                _ = try backend.loadInstance(modelPath: "/nonexistent/model.pt", options: InstanceOptions())
                Issue.record("the load succeeded")
            } catch let error as SwerveError {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("/nonexistent/libswerve_torch_shim.so: no such file"))
                #expect(error.message.contains("scripts/setup.sh"))
                #expect(error.message.contains("scripts/build_torch_shim.sh"))
            }
        }
    }

    /// A file that is not the shim is refused with the reason.
    @Test func otherLibrariesAreRefused() {
        #expect {
            try TorchShimLibrary.locate(explicitPath: "/lib/x86_64-linux-gnu/libm.so.6")
        } throws: { error in
            (error as? SwerveError)?.message.contains("not Swerve's torch shim (no swerve_torch_api_version symbol)") == true
        }
    }
}
