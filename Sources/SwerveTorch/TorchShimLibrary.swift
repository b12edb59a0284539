import Glibc

/// An opened `libswerve_torch_shim.so`: where it was loaded from, the libtorch version it was
/// built against, and its functions.
///
/// The library is opened with `dlopen` and never closed: libtorch keeps thread pools and static
/// registries that must outlive every module.
struct TorchShimLibrary: Sendable {
    /// The file loaded.
    let path: String
    /// libtorch's version, e.g. `"2.15.0"`.
    let version: String
    /// The functions Swerve calls.
    let api: TorchShimAPI

    /// Opens the shim at `path`, which pulls in libtorch (`libtorch_cpu.so`, `libc10.so`) through
    /// the shim's run path, and checks that it follows the interface these declarations expect.
    /// - Throws: a one-line reason: `dlerror`'s message, or a shim of another interface version.
    static func open(_ path: String) throws(TorchShimOpenError) -> TorchShimLibrary {
        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            var reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            // dlerror repeats the path it was given; say it once.
            if reason.hasPrefix(path + ": ") {
                reason.removeFirst(path.count + 2)
            }
            throw TorchShimOpenError(reason: reason)
        }
        let api = try TorchShimAPI(handle: handle)
        let found = api.apiVersion()
        guard found == TorchShimAPI.expectedVersion else {
            throw TorchShimOpenError(
                reason: "built for shim interface \(found), this Swerve needs \(TorchShimAPI.expectedVersion); rebuild it with scripts/build_torch_shim.sh")
        }
        return TorchShimLibrary(path: path, version: TorchShimAPI.string(api.version()), api: api)
    }
}
