// The subset of ONNX Runtime's C API that Swerve calls, declared by hand so that Swerve builds
// without ORT's headers and opens the library only at run time.
//
// Source of the facts: `onnxruntime_c_api.h` (PROTOCOLS.md §8). `OrtApi` is a C struct of function
// pointers whose member order is the ABI: member `i` sits at `i * sizeof(void*)` from the start of
// the table, and new members are only ever appended. Every call returns an `OrtStatus*` (NULL on
// success) unless its type says otherwise. Opaque handles (`OrtEnv*`, `OrtSession*`, ...) are
// `OpaquePointer`; `size_t` is `Int`; C enums are `Int32`; paths are UTF-8 `char*` on Linux.

/// `const OrtApiBase* OrtGetApiBase(void)`: the library's only entry point Swerve looks up by name.
typealias OrtGetApiBaseFunction = @convention(c) () -> UnsafeRawPointer?
/// `OrtApiBase` member 0: `const OrtApi* GetApi(uint32_t version)`; NULL when the library is older.
typealias OrtGetApiFunction = @convention(c) (UInt32) -> UnsafeRawPointer?
/// `OrtApiBase` member 1: `const char* GetVersionString(void)`, e.g. `"1.32.0"`.
typealias OrtGetVersionStringFunction = @convention(c) () -> UnsafePointer<CChar>?

/// The ONNX Runtime functions Swerve calls, read once from the `OrtApi` table.
///
/// Function pointers are immutable values, so the table is `Sendable`; the handles passed to them
/// carry their own thread-safety rules, documented where they are stored.
struct ORTAPI: Sendable {
    /// The `OrtApi` version requested from `GetApi`.
    ///
    /// Every function below is already in API 8's header (ONNX Runtime 1.8; members 0...118 are
    /// frozen as versions 1 and 2, the global thread pool members 119...148 came after), but 20
    /// is the oldest ONNX Runtime (1.20) Swerve is tested against, so older libraries are refused
    /// with a clear message instead of being trusted blindly. Never above 20: that would refuse
    /// ORT 1.20 itself.
    static let requestedVersion: UInt32 = 20

    /// Positions of the members used, as 0-based indices into `OrtApi` (PROTOCOLS.md §8.1). The
    /// thread pool members 119...148, not listed there, were counted in the API 29 header and
    /// checked by calling each by number against ONNX Runtime 1.32.
    enum Member: Int {
        case getErrorCode = 1                     // OrtErrorCode GetErrorCode(const OrtStatus*)
        case getErrorMessage = 2                  // const char* GetErrorMessage(const OrtStatus*)
        case disableTelemetryEvents = 6           // (const OrtEnv*)
        case createSession = 7                    // (OrtEnv*, const char* path, const OrtSessionOptions*, OrtSession** out)
        case createSessionFromArray = 8           // (OrtEnv*, const void* data, size_t len, const OrtSessionOptions*, OrtSession** out)
        case run = 9                              // (OrtSession*, const OrtRunOptions*, const char* const* inNames,
                                                  //  const OrtValue* const* in, size_t nIn, const char* const* outNames,
                                                  //  size_t nOut, OrtValue** out)
        case createSessionOptions = 10            // (OrtSessionOptions** out)
        case setSessionExecutionMode = 13         // (OrtSessionOptions*, ExecutionMode)
        case disableCpuMemArena = 19              // (OrtSessionOptions*)
        case setSessionGraphOptimizationLevel = 23  // (OrtSessionOptions*, GraphOptimizationLevel)
        case sessionGetInputCount = 30            // (const OrtSession*, size_t* out)
        case sessionGetOutputCount = 31           // (const OrtSession*, size_t* out)
        case sessionGetInputTypeInfo = 33         // (const OrtSession*, size_t i, OrtTypeInfo** out)
        case sessionGetOutputTypeInfo = 34        // (const OrtSession*, size_t i, OrtTypeInfo** out)
        case sessionGetInputName = 36             // (const OrtSession*, size_t i, OrtAllocator*, char** out)
        case sessionGetOutputName = 37            // (const OrtSession*, size_t i, OrtAllocator*, char** out)
        case createTensorAsOrtValue = 48          // (OrtAllocator*, const int64_t* shape, size_t rank, elemType, OrtValue** out)
        case createTensorWithDataAsOrtValue = 49  // (const OrtMemoryInfo*, void* data, size_t byteLen,
                                                  //  const int64_t* shape, size_t rank, elemType, OrtValue** out)
        case isTensor = 50                        // (const OrtValue*, int* out)
        case getTensorMutableData = 51            // (OrtValue*, void** out)
        case fillStringTensor = 52                // (OrtValue*, const char* const* strings, size_t count)
        case getStringTensorDataLength = 53       // (const OrtValue*, size_t* totalBytes)
        case getStringTensorContent = 54          // (const OrtValue*, void* buf, size_t bufLen, size_t* offsets, size_t count)
        case castTypeInfoToTensorInfo = 55        // (const OrtTypeInfo*, const OrtTensorTypeAndShapeInfo** out) — not owned
        case getOnnxTypeFromTypeInfo = 56         // (const OrtTypeInfo*, ONNXType* out)
        case getTensorElementType = 60            // (const OrtTensorTypeAndShapeInfo*, ONNXTensorElementDataType* out)
        case getDimensionsCount = 61              // (const OrtTensorTypeAndShapeInfo*, size_t* out)
        case getDimensions = 62                   // (const OrtTensorTypeAndShapeInfo*, int64_t* out, size_t count); -1 = dynamic
        case getTensorShapeElementCount = 64      // (const OrtTensorTypeAndShapeInfo*, size_t* out)
        case getTensorTypeAndShape = 65           // (const OrtValue*, OrtTensorTypeAndShapeInfo** out) — owned
        case createCpuMemoryInfo = 69             // (OrtAllocatorType, OrtMemType, OrtMemoryInfo** out)
        case allocatorFree = 76                   // (OrtAllocator*, void* p)
        case getAllocatorWithDefaultOptions = 78  // (OrtAllocator** out) — never released
        case releaseStatus = 93                   // void (OrtStatus*)
        case releaseMemoryInfo = 94               // void (OrtMemoryInfo*)
        case releaseSession = 95                  // void (OrtSession*)
        case releaseValue = 96                    // void (OrtValue*)
        case releaseTypeInfo = 98                 // void (OrtTypeInfo*)
        case releaseTensorTypeAndShapeInfo = 99   // void (OrtTensorTypeAndShapeInfo*)
        case releaseSessionOptions = 100          // void (OrtSessionOptions*)
        case castTypeInfoToSequenceTypeInfo = 104 // (const OrtTypeInfo*, const OrtSequenceTypeInfo** out) — not owned
        case getSequenceElementType = 107         // (const OrtSequenceTypeInfo*, OrtTypeInfo** out) — owned copy
        case createEnvWithGlobalThreadPools = 119 // (OrtLoggingLevel, const char* logid, const OrtThreadingOptions*, OrtEnv** out)
        case disablePerSessionThreads = 120       // (OrtSessionOptions*): the session runs on the env's global pools
        case createThreadingOptions = 121         // (OrtThreadingOptions** out)
        case releaseThreadingOptions = 122        // void (OrtThreadingOptions*)
        case setGlobalIntraOpNumThreads = 147     // (OrtThreadingOptions*, int); 1 = the calling thread only
        case setGlobalInterOpNumThreads = 148     // (OrtThreadingOptions*, int); 1 = the calling thread only
    }

    typealias Handle = OpaquePointer
    typealias Status = OpaquePointer?
    typealias Out<T> = UnsafeMutablePointer<T>?
    typealias CNames = UnsafePointer<UnsafePointer<CChar>?>?

    let getErrorCode: @convention(c) (Handle?) -> Int32
    let getErrorMessage: @convention(c) (Handle?) -> UnsafePointer<CChar>?
    let createSession: @convention(c) (Handle?, UnsafePointer<CChar>?, Handle?, Out<Handle?>) -> Status
    let createSessionFromArray: @convention(c) (Handle?, UnsafeRawPointer?, Int, Handle?, Out<Handle?>) -> Status
    let run: @convention(c) (Handle?, Handle?, CNames, UnsafePointer<Handle?>?, Int, CNames, Int, Out<Handle?>) -> Status
    let createSessionOptions: @convention(c) (Out<Handle?>) -> Status
    let setSessionExecutionMode: @convention(c) (Handle?, Int32) -> Status
    let disableCpuMemArena: @convention(c) (Handle?) -> Status
    let setSessionGraphOptimizationLevel: @convention(c) (Handle?, Int32) -> Status
    let sessionGetInputCount: @convention(c) (Handle?, Out<Int>) -> Status
    let sessionGetOutputCount: @convention(c) (Handle?, Out<Int>) -> Status
    let sessionGetInputTypeInfo: @convention(c) (Handle?, Int, Out<Handle?>) -> Status
    let sessionGetOutputTypeInfo: @convention(c) (Handle?, Int, Out<Handle?>) -> Status
    let sessionGetInputName: @convention(c) (Handle?, Int, Handle?, Out<UnsafeMutablePointer<CChar>?>) -> Status
    let sessionGetOutputName: @convention(c) (Handle?, Int, Handle?, Out<UnsafeMutablePointer<CChar>?>) -> Status
    let createTensorAsOrtValue: @convention(c) (Handle?, UnsafePointer<Int64>?, Int, Int32, Out<Handle?>) -> Status
    let createTensorWithDataAsOrtValue: @convention(c) (
        Handle?, UnsafeMutableRawPointer?, Int, UnsafePointer<Int64>?, Int, Int32, Out<Handle?>
    ) -> Status
    let isTensor: @convention(c) (Handle?, Out<Int32>) -> Status
    let getTensorMutableData: @convention(c) (Handle?, Out<UnsafeMutableRawPointer?>) -> Status
    let fillStringTensor: @convention(c) (Handle?, CNames, Int) -> Status
    let getStringTensorDataLength: @convention(c) (Handle?, Out<Int>) -> Status
    let getStringTensorContent: @convention(c) (Handle?, UnsafeMutableRawPointer?, Int, Out<Int>, Int) -> Status
    let castTypeInfoToTensorInfo: @convention(c) (Handle?, Out<Handle?>) -> Status
    let getOnnxTypeFromTypeInfo: @convention(c) (Handle?, Out<Int32>) -> Status
    let getTensorElementType: @convention(c) (Handle?, Out<Int32>) -> Status
    let getDimensionsCount: @convention(c) (Handle?, Out<Int>) -> Status
    let getDimensions: @convention(c) (Handle?, Out<Int64>, Int) -> Status
    let getTensorShapeElementCount: @convention(c) (Handle?, Out<Int>) -> Status
    let getTensorTypeAndShape: @convention(c) (Handle?, Out<Handle?>) -> Status
    let createCpuMemoryInfo: @convention(c) (Int32, Int32, Out<Handle?>) -> Status
    let allocatorFree: @convention(c) (Handle?, UnsafeMutableRawPointer?) -> Status
    let getAllocatorWithDefaultOptions: @convention(c) (Out<Handle?>) -> Status
    let releaseStatus: @convention(c) (Handle?) -> Void
    let releaseMemoryInfo: @convention(c) (Handle?) -> Void
    let releaseSession: @convention(c) (Handle?) -> Void
    let releaseValue: @convention(c) (Handle?) -> Void
    let releaseTypeInfo: @convention(c) (Handle?) -> Void
    let releaseTensorTypeAndShapeInfo: @convention(c) (Handle?) -> Void
    let releaseSessionOptions: @convention(c) (Handle?) -> Void
    let castTypeInfoToSequenceTypeInfo: @convention(c) (Handle?, Out<Handle?>) -> Status
    let getSequenceElementType: @convention(c) (Handle?, Out<Handle?>) -> Status
    let disableTelemetryEvents: @convention(c) (Handle?) -> Status
    let createEnvWithGlobalThreadPools: @convention(c) (Int32, UnsafePointer<CChar>?, Handle?, Out<Handle?>) -> Status
    let disablePerSessionThreads: @convention(c) (Handle?) -> Status
    let createThreadingOptions: @convention(c) (Out<Handle?>) -> Status
    let releaseThreadingOptions: @convention(c) (Handle?) -> Void
    let setGlobalIntraOpNumThreads: @convention(c) (Handle?, Int32) -> Status
    let setGlobalInterOpNumThreads: @convention(c) (Handle?, Int32) -> Status

    /// Reads every function above from the `OrtApi` table at `table`.
    /// - Throws: a description of the first member that is NULL.
    init(table: UnsafeRawPointer) throws(ORTAPIError) {
        func member<F>(_ index: Member) throws(ORTAPIError) -> F {
            let offset = index.rawValue * MemoryLayout<UnsafeRawPointer>.size
            guard let pointer = table.load(fromByteOffset: offset, as: UnsafeRawPointer?.self) else {
                throw ORTAPIError(missingMember: index)
            }
            return unsafeBitCast(pointer, to: F.self)
        }
        getErrorCode = try member(.getErrorCode)
        getErrorMessage = try member(.getErrorMessage)
        createSession = try member(.createSession)
        createSessionFromArray = try member(.createSessionFromArray)
        run = try member(.run)
        createSessionOptions = try member(.createSessionOptions)
        setSessionExecutionMode = try member(.setSessionExecutionMode)
        disableCpuMemArena = try member(.disableCpuMemArena)
        setSessionGraphOptimizationLevel = try member(.setSessionGraphOptimizationLevel)
        sessionGetInputCount = try member(.sessionGetInputCount)
        sessionGetOutputCount = try member(.sessionGetOutputCount)
        sessionGetInputTypeInfo = try member(.sessionGetInputTypeInfo)
        sessionGetOutputTypeInfo = try member(.sessionGetOutputTypeInfo)
        sessionGetInputName = try member(.sessionGetInputName)
        sessionGetOutputName = try member(.sessionGetOutputName)
        createTensorAsOrtValue = try member(.createTensorAsOrtValue)
        createTensorWithDataAsOrtValue = try member(.createTensorWithDataAsOrtValue)
        isTensor = try member(.isTensor)
        getTensorMutableData = try member(.getTensorMutableData)
        fillStringTensor = try member(.fillStringTensor)
        getStringTensorDataLength = try member(.getStringTensorDataLength)
        getStringTensorContent = try member(.getStringTensorContent)
        castTypeInfoToTensorInfo = try member(.castTypeInfoToTensorInfo)
        getOnnxTypeFromTypeInfo = try member(.getOnnxTypeFromTypeInfo)
        getTensorElementType = try member(.getTensorElementType)
        getDimensionsCount = try member(.getDimensionsCount)
        getDimensions = try member(.getDimensions)
        getTensorShapeElementCount = try member(.getTensorShapeElementCount)
        getTensorTypeAndShape = try member(.getTensorTypeAndShape)
        createCpuMemoryInfo = try member(.createCpuMemoryInfo)
        allocatorFree = try member(.allocatorFree)
        getAllocatorWithDefaultOptions = try member(.getAllocatorWithDefaultOptions)
        releaseStatus = try member(.releaseStatus)
        releaseMemoryInfo = try member(.releaseMemoryInfo)
        releaseSession = try member(.releaseSession)
        releaseValue = try member(.releaseValue)
        releaseTypeInfo = try member(.releaseTypeInfo)
        releaseTensorTypeAndShapeInfo = try member(.releaseTensorTypeAndShapeInfo)
        releaseSessionOptions = try member(.releaseSessionOptions)
        castTypeInfoToSequenceTypeInfo = try member(.castTypeInfoToSequenceTypeInfo)
        getSequenceElementType = try member(.getSequenceElementType)
        createEnvWithGlobalThreadPools = try member(.createEnvWithGlobalThreadPools)
        disableTelemetryEvents = try member(.disableTelemetryEvents)
        disablePerSessionThreads = try member(.disablePerSessionThreads)
        createThreadingOptions = try member(.createThreadingOptions)
        releaseThreadingOptions = try member(.releaseThreadingOptions)
        setGlobalIntraOpNumThreads = try member(.setGlobalIntraOpNumThreads)
        setGlobalInterOpNumThreads = try member(.setGlobalInterOpNumThreads)
    }
}

/// A member of the `OrtApi` table that the library left NULL.
struct ORTAPIError: Error, Sendable, CustomStringConvertible {
    /// The member's name and index.
    var description: String

    init(missingMember: ORTAPI.Member) {
        description = "OrtApi member \(missingMember) (index \(missingMember.rawValue)) is NULL"
    }
}

/// C enum values used with the functions above (PROTOCOLS.md §8.3); all C `int`-sized.
enum ORTConstant {
    static let loggingLevelWarning: Int32 = 2       // OrtLoggingLevel ORT_LOGGING_LEVEL_WARNING
    static let sequentialExecution: Int32 = 0       // ExecutionMode ORT_SEQUENTIAL
    static let enableAllOptimizations: Int32 = 99   // GraphOptimizationLevel ORT_ENABLE_ALL
    static let arenaAllocator: Int32 = 1            // OrtAllocatorType OrtArenaAllocator
    static let memTypeDefault: Int32 = 0            // OrtMemType OrtMemTypeDefault

    // ONNXType: what kind of value an input or output is.
    static let typeTensor: Int32 = 1
    static let typeSequence: Int32 = 2
    static let typeMap: Int32 = 3
    static let typeOpaque: Int32 = 4
    static let typeSparseTensor: Int32 = 5
    static let typeOptional: Int32 = 6

    // OrtErrorCode values that mean the model file itself is at fault.
    static let modelFileErrorCodes: Set<Int32> = [
        2,   // ORT_INVALID_ARGUMENT
        3,   // ORT_NO_SUCHFILE
        4,   // ORT_NO_MODEL
        7,   // ORT_INVALID_PROTOBUF
        9,   // ORT_NOT_IMPLEMENTED (an operator or opset this build lacks)
        10,  // ORT_INVALID_GRAPH
    ]
}
