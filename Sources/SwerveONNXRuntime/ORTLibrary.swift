import Glibc

/// An opened `libonnxruntime` shared library: where it was loaded from, its version, and its
/// function table.
///
/// The library is opened with `dlopen` and never closed: ONNX Runtime keeps threads and static
/// state that must outlive every session.
struct ORTLibrary: Sendable {
    /// The file actually loaded, as the dynamic loader reports it.
    let path: String
    /// ONNX Runtime's version string, e.g. `"1.32.0"`.
    let version: String
    /// The functions Swerve calls.
    let api: ORTAPI

    /// Opens the library that `dlopen` finds for `location` (a path, or a bare name for the
    /// system loader's search) and reads its function table.
    /// - Throws: a one-line reason, such as `dlerror`'s message or a version that is too old.
    static func open(_ location: String) throws(ORTLibraryOpenError) -> ORTLibrary {
        _ = dlerror()
        guard let handle = dlopen(location, RTLD_NOW | RTLD_LOCAL) else {
            throw ORTLibraryOpenError(reason: lastDLError() ?? "dlopen failed")
        }
        guard let symbol = dlsym(handle, "OrtGetApiBase") else {
            dlclose(handle)
            throw ORTLibraryOpenError(reason: "not an ONNX Runtime library (no OrtGetApiBase symbol)")
        }
        let getApiBase = unsafeBitCast(symbol, to: OrtGetApiBaseFunction.self)
        guard let base = getApiBase() else {
            throw ORTLibraryOpenError(reason: "OrtGetApiBase returned NULL")
        }
        // OrtApiBase is { GetApi, GetVersionString }: two function pointers.
        let pointerSize = MemoryLayout<UnsafeRawPointer>.size
        guard let getApiPointer = base.load(fromByteOffset: 0, as: UnsafeRawPointer?.self),
              let versionPointer = base.load(fromByteOffset: pointerSize, as: UnsafeRawPointer?.self)
        else {
            throw ORTLibraryOpenError(reason: "OrtApiBase has a NULL member")
        }
        let getVersionString = unsafeBitCast(versionPointer, to: OrtGetVersionStringFunction.self)
        let version = getVersionString().map { String(cString: $0) } ?? "unknown"
        let getApi = unsafeBitCast(getApiPointer, to: OrtGetApiFunction.self)
        guard let table = getApi(ORTAPI.requestedVersion) else {
            throw ORTLibraryOpenError(
                reason: "ONNX Runtime is too old: found version \(version), need >= 1.\(ORTAPI.requestedVersion)"
            )
        }
        let api: ORTAPI
        do {
            api = try ORTAPI(table: table)
        } catch {
            throw ORTLibraryOpenError(reason: "ONNX Runtime \(version): \(error)")
        }
        let path = loadedFile(containing: symbol) ?? location
        return ORTLibrary(path: path, version: version, api: api)
    }

    /// The path of the shared object that holds `address`, from `dladdr`.
    ///
    /// Swift's Glibc module hides `dladdr` (it needs `_GNU_SOURCE`), so it is looked up like ORT
    /// itself. Its `Dl_info` is four pointers; the first is the file name.
    private static func loadedFile(containing address: UnsafeRawPointer) -> String? {
        typealias DLAddr = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?) -> Int32
        guard let symbol = dlsym(nil, "dladdr") else { return nil }
        let dladdr = unsafeBitCast(symbol, to: DLAddr.self)
        var info: (UnsafePointer<CChar>?, UnsafeRawPointer?, UnsafePointer<CChar>?, UnsafeRawPointer?) = (nil, nil, nil, nil)
        let found = withUnsafeMutableBytes(of: &info) { dladdr(address, $0.baseAddress) }
        guard found != 0, let name = info.0 else { return nil }
        return String(cString: name)
    }

    private static func lastDLError() -> String? {
        dlerror().map { String(cString: $0) }
    }
}

/// Why one candidate library could not be used.
struct ORTLibraryOpenError: Error, Sendable, CustomStringConvertible {
    /// A one-line reason.
    var reason: String

    var description: String { reason }
}
