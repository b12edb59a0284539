import Glibc

/// An opened TensorFlow C API library (`libtensorflow_cc.so.2` of the `tensorflow-cpu` wheel,
/// which loads `libtensorflow_framework.so.2` beside it): where it was loaded from, its version,
/// and its functions.
///
/// The library is opened with `dlopen` and never closed: TensorFlow keeps threads, registries and
/// static state that must outlive every session.
struct TFLibrary: Sendable {
    /// The file actually loaded, as the dynamic loader reports it.
    let path: String
    /// `TF_Version()`, e.g. `"2.21.0"`.
    let version: String
    /// The functions Swerve calls.
    let api: TFAPI

    /// The file name of the library in the wheel's `tensorflow/` folder.
    static let fileName = "libtensorflow_cc.so.2"

    /// Opens the library that `dlopen` finds for `location` (a path, or a bare name for the system
    /// loader's search) and looks up its functions.
    /// - Throws: a one-line reason, such as `dlerror`'s message or the symbols that are missing.
    static func open(_ location: String) throws(TFLibraryOpenError) -> TFLibrary {
        _ = dlerror()
        // RTLD_NOW: an unresolvable symbol fails here, not in a later call. Opening the 790 MB
        // library takes 0.2-0.3 s with RTLD_NOW or RTLD_LAZY alike.
        guard let handle = dlopen(location, RTLD_NOW | RTLD_LOCAL) else {
            throw TFLibraryOpenError(reason: dlerror().map { String(cString: $0) } ?? "dlopen failed")
        }
        // Not closed even when it is not TensorFlow's C API library: its static initializers have
        // run (TensorFlow's register kernels and start logging), and unloading such a library is
        // not safe.
        let api = try TFAPI(handle: handle)
        let version = api.version().map { String(cString: $0) } ?? "unknown"
        let path = loadedFile(containing: unsafeBitCast(api.version, to: UnsafeRawPointer.self)) ?? location
        return TFLibrary(path: path, version: version, api: api)
    }

    /// The path of the shared object that holds `address`, from `dladdr` (looked up at run time:
    /// Swift's Glibc module hides it without `_GNU_SOURCE`). `Dl_info` is four pointers; the first
    /// is the file name.
    private static func loadedFile(containing address: UnsafeRawPointer) -> String? {
        typealias DLAddr = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Int32
        guard let symbol = dlsym(nil, "dladdr") else { return nil }
        var info: (UnsafePointer<CChar>?, UnsafeRawPointer?, UnsafePointer<CChar>?, UnsafeRawPointer?) = (nil, nil, nil, nil)
        let found = withUnsafeMutableBytes(of: &info) { unsafeBitCast(symbol, to: DLAddr.self)(address, $0.baseAddress) }
        guard found != 0, let name = info.0 else { return nil }
        return String(cString: name)
    }
}

/// Why one candidate library could not be used.
struct TFLibraryOpenError: Error, Sendable, CustomStringConvertible {
    /// A one-line reason.
    var reason: String

    var description: String { reason }
}
