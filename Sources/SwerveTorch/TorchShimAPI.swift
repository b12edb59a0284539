import Glibc

// The functions of libswerve_torch_shim.so that Swerve calls, declared by hand so that Swerve
// builds without libtorch and opens the shim only at run time. The C declarations, and what each
// function does, are in native/torch_shim/swerve_torch_shim.h; `int32_t` is `Int32`, `int64_t`
// `Int64`, opaque handles `OpaquePointer`, and every `char** error` an out-parameter that the
// caller frees with `swerve_torch_string_free`.

/// The shim's functions, looked up once by name with `dlsym`.
///
/// Function pointers are immutable values, so the table is `Sendable`; the shim documents which
/// handles may be shared between threads (a module may, a result may not).
struct TorchShimAPI: Sendable {
    /// The `SWERVE_TORCH_API_VERSION` these declarations follow; a shim built from another
    /// version of swerve_torch_shim.h is refused.
    static let expectedVersion: Int32 = 1

    typealias Error = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?

    let apiVersion: @convention(c) () -> Int32
    let version: @convention(c) () -> UnsafePointer<CChar>?
    let setThreads: @convention(c) (Int32, Int32, Error) -> Int32
    let load: @convention(c) (UnsafePointer<CChar>?, Int32, Error) -> OpaquePointer?
    let moduleFree: @convention(c) (OpaquePointer?) -> Void
    let moduleNote: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    let argumentCount: @convention(c) (OpaquePointer?) -> Int32
    let argumentName: @convention(c) (OpaquePointer?, Int32) -> UnsafePointer<CChar>?
    let argumentType: @convention(c) (OpaquePointer?, Int32) -> UnsafePointer<CChar>?
    let argumentBorrowed: @convention(c) (OpaquePointer?, Int32) -> Int32
    let returnKind: @convention(c) (OpaquePointer?) -> Int32
    let returnType: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
    let returnArity: @convention(c) (OpaquePointer?) -> Int32
    /// (module, count, dtypes, ranks, shapes, data, error) -> result
    typealias Forward = @convention(c) (
        OpaquePointer?, Int32, UnsafePointer<Int32>?, UnsafePointer<Int32>?,
        UnsafePointer<UnsafePointer<Int64>?>?, UnsafePointer<UnsafeRawPointer?>?, Error
    ) -> OpaquePointer?
    let forward: Forward
    let resultCount: @convention(c) (OpaquePointer?) -> Int32
    /// (result, index, dtype, rank, shape, data, byteCount, error) -> 0 or -1
    typealias ResultTensor = @convention(c) (
        OpaquePointer?, Int32, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?,
        UnsafeMutablePointer<UnsafePointer<Int64>?>?, UnsafeMutablePointer<UnsafeRawPointer?>?,
        UnsafeMutablePointer<Int64>?, Error
    ) -> Int32
    let resultTensor: ResultTensor
    let resultFree: @convention(c) (OpaquePointer?) -> Void
    let stringFree: @convention(c) (UnsafeMutablePointer<CChar>?) -> Void

    /// Reads every function from the opened library `handle`.
    /// - Throws: the name of the first function missing (a library that is not the shim).
    init(handle: UnsafeMutableRawPointer) throws(TorchShimOpenError) {
        func symbol<F>(_ name: String, as type: F.Type) throws(TorchShimOpenError) -> F {
            guard let pointer = dlsym(handle, name) else {
                throw TorchShimOpenError(reason: "not Swerve's torch shim (no \(name) symbol)")
            }
            return unsafeBitCast(pointer, to: type)
        }
        apiVersion = try symbol("swerve_torch_api_version", as: (@convention(c) () -> Int32).self)
        version = try symbol("swerve_torch_version", as: (@convention(c) () -> UnsafePointer<CChar>?).self)
        setThreads = try symbol("swerve_torch_set_threads", as: (@convention(c) (Int32, Int32, Error) -> Int32).self)
        load = try symbol("swerve_torch_load", as: (@convention(c) (UnsafePointer<CChar>?, Int32, Error) -> OpaquePointer?).self)
        moduleFree = try symbol("swerve_torch_module_free", as: (@convention(c) (OpaquePointer?) -> Void).self)
        moduleNote = try symbol("swerve_torch_module_note", as: (@convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?).self)
        argumentCount = try symbol("swerve_torch_argument_count", as: (@convention(c) (OpaquePointer?) -> Int32).self)
        argumentName = try symbol(
            "swerve_torch_argument_name", as: (@convention(c) (OpaquePointer?, Int32) -> UnsafePointer<CChar>?).self)
        argumentType = try symbol(
            "swerve_torch_argument_type", as: (@convention(c) (OpaquePointer?, Int32) -> UnsafePointer<CChar>?).self)
        argumentBorrowed = try symbol("swerve_torch_argument_borrowed", as: (@convention(c) (OpaquePointer?, Int32) -> Int32).self)
        returnKind = try symbol("swerve_torch_return_kind", as: (@convention(c) (OpaquePointer?) -> Int32).self)
        returnType = try symbol("swerve_torch_return_type", as: (@convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?).self)
        returnArity = try symbol("swerve_torch_return_arity", as: (@convention(c) (OpaquePointer?) -> Int32).self)
        forward = try symbol("swerve_torch_forward", as: Forward.self)
        resultCount = try symbol("swerve_torch_result_count", as: (@convention(c) (OpaquePointer?) -> Int32).self)
        resultTensor = try symbol("swerve_torch_result_tensor", as: ResultTensor.self)
        resultFree = try symbol("swerve_torch_result_free", as: (@convention(c) (OpaquePointer?) -> Void).self)
        stringFree = try symbol("swerve_torch_string_free", as: (@convention(c) (UnsafeMutablePointer<CChar>?) -> Void).self)
    }

    /// Calls `body` with an error out-parameter and returns what the shim reported there, freed.
    func capturingError<R>(_ body: (Error) -> R) -> (value: R, error: String?) {
        var message: UnsafeMutablePointer<CChar>?
        let value = body(&message)
        guard let message else { return (value, nil) }
        defer { stringFree(message) }
        return (value, String(cString: message))
    }

    /// A C string the shim owns, as a Swift string ("" for NULL).
    static func string(_ pointer: UnsafePointer<CChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }
}

/// Why one candidate shim could not be used.
struct TorchShimOpenError: Error, Sendable, CustomStringConvertible {
    /// A one-line reason.
    var reason: String

    var description: String { reason }
}
