import Glibc

// The subset of TensorFlow's C API that Swerve calls, declared by hand so that Swerve builds
// without TensorFlow's headers and opens the library only at run time.
//
// Source of the facts: `tensorflow/c/c_api.h`, `tf_status.h`, `tf_tensor.h`, `tf_buffer.h` and
// `tf_tstring.h` of TensorFlow 2.21.0 (shipped in the wheel under `tensorflow/include`). Every
// function is an exported C symbol looked up with `dlsym`: the session and graph functions live in
// `libtensorflow_cc.so.2`, the status, tensor and buffer ones in `libtensorflow_framework.so.2`,
// which the first names as a dependency, so one handle finds both. Opaque handles (`TF_Status*`,
// `TF_Session*`, `TF_Tensor*`, ...) are `OpaquePointer`; `TF_DataType` and `TF_Code` are C enums
// (`Int32`); `size_t` is `Int`; `int` is `Int32`. Structs passed by pointer (`TF_Buffer`,
// `TF_Output`, `TF_TString`) are raw memory laid out as C does (see ``TFBuffer``,
// ``TFOutputList``, ``TFString``).

/// The TensorFlow functions Swerve calls, looked up once in the opened library.
///
/// Function pointers are immutable values, so the table is `Sendable`; the handles passed to them
/// carry their own thread-safety rules, documented where they are stored.
struct TFAPI: Sendable {
    // c_api.h
    /// `const char* TF_Version(void)`, e.g. `"2.21.0"`.
    let version: @convention(c) () -> UnsafePointer<CChar>?
    /// `TF_SessionOptions* TF_NewSessionOptions(void)`.
    let newSessionOptions: @convention(c) () -> OpaquePointer?
    /// `void TF_SetConfig(TF_SessionOptions*, const void* proto, size_t proto_len, TF_Status*)`: a
    /// serialized `ConfigProto`.
    let setConfig: @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int, OpaquePointer?) -> Void
    /// `void TF_DeleteSessionOptions(TF_SessionOptions*)`.
    let deleteSessionOptions: @convention(c) (OpaquePointer?) -> Void
    /// `TF_Graph* TF_NewGraph(void)`.
    let newGraph: @convention(c) () -> OpaquePointer?
    /// `void TF_DeleteGraph(TF_Graph*)`: the graph goes once no session refers to it.
    let deleteGraph: @convention(c) (OpaquePointer?) -> Void
    /// `TF_Session* TF_LoadSessionFromSavedModel(const TF_SessionOptions*, const TF_Buffer* run_options,
    /// const char* export_dir, const char* const* tags, int tags_len, TF_Graph* graph,
    /// TF_Buffer* meta_graph_def, TF_Status*)`: loads the SavedModel's graph into `graph` (which
    /// must be empty), restores its variables, and writes the serialized `MetaGraphDef` into
    /// `meta_graph_def` when it is not NULL.
    let loadSessionFromSavedModel: @convention(c) (
        OpaquePointer?, UnsafeRawPointer?, UnsafePointer<CChar>?, UnsafePointer<UnsafePointer<CChar>?>?, Int32,
        OpaquePointer?, UnsafeMutableRawPointer?, OpaquePointer?
    ) -> OpaquePointer?
    /// `void TF_CloseSession(TF_Session*, TF_Status*)`.
    let closeSession: @convention(c) (OpaquePointer?, OpaquePointer?) -> Void
    /// `void TF_DeleteSession(TF_Session*, TF_Status*)`: frees the session even when it reports an error.
    let deleteSession: @convention(c) (OpaquePointer?, OpaquePointer?) -> Void
    /// `TF_Operation* TF_GraphOperationByName(TF_Graph*, const char* oper_name)`; NULL when absent.
    let graphOperationByName: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?) -> OpaquePointer?
    /// `int TF_OperationNumOutputs(TF_Operation*)`.
    let operationNumOutputs: @convention(c) (OpaquePointer?) -> Int32
    /// `void TF_SessionRun(TF_Session*, const TF_Buffer* run_options, const TF_Output* inputs,
    /// TF_Tensor* const* input_values, int ninputs, const TF_Output* outputs, TF_Tensor** output_values,
    /// int noutputs, const TF_Operation* const* target_opers, int ntargets, TF_Buffer* run_metadata,
    /// TF_Status*)`: the caller keeps its inputs and owns the outputs (NULLs on failure).
    let sessionRun: @convention(c) (
        OpaquePointer?, UnsafeRawPointer?, UnsafeRawPointer?, UnsafePointer<OpaquePointer?>?, Int32,
        UnsafeRawPointer?, UnsafeMutablePointer<OpaquePointer?>?, Int32, UnsafePointer<OpaquePointer?>?, Int32,
        UnsafeMutableRawPointer?, OpaquePointer?
    ) -> Void

    // tf_status.h
    /// `TF_Status* TF_NewStatus(void)`.
    let newStatus: @convention(c) () -> OpaquePointer?
    /// `void TF_DeleteStatus(TF_Status*)`.
    let deleteStatus: @convention(c) (OpaquePointer?) -> Void
    /// `TF_Code TF_GetCode(const TF_Status*)`: 0 (`TF_OK`) on success.
    let getCode: @convention(c) (OpaquePointer?) -> Int32
    /// `const char* TF_Message(const TF_Status*)`: valid until the status changes or is deleted.
    let message: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?

    // tf_buffer.h
    /// `TF_Buffer* TF_NewBuffer(void)`: an empty buffer for TensorFlow to fill.
    let newBuffer: @convention(c) () -> UnsafeMutableRawPointer?
    /// `void TF_DeleteBuffer(TF_Buffer*)`: frees the buffer and, through its deallocator, its data.
    let deleteBuffer: @convention(c) (UnsafeMutableRawPointer?) -> Void

    // tf_tensor.h
    /// `TF_Tensor* TF_AllocateTensor(TF_DataType, const int64_t* dims, int num_dims, size_t len)`:
    /// `len` bytes of uninitialised, suitably aligned memory owned by the tensor.
    let allocateTensor: @convention(c) (Int32, UnsafePointer<Int64>?, Int32, Int) -> OpaquePointer?
    /// `void TF_DeleteTensor(TF_Tensor*)`: drops the caller's reference to the tensor's buffer,
    /// freeing the buffer, and the strings of a `TF_STRING` tensor, when it was the last one.
    let deleteTensor: @convention(c) (OpaquePointer?) -> Void
    /// `TF_DataType TF_TensorType(const TF_Tensor*)`.
    let tensorType: @convention(c) (OpaquePointer?) -> Int32
    /// `int TF_NumDims(const TF_Tensor*)`.
    let numDims: @convention(c) (OpaquePointer?) -> Int32
    /// `int64_t TF_Dim(const TF_Tensor*, int dim_index)`.
    let dim: @convention(c) (OpaquePointer?, Int32) -> Int64
    /// `size_t TF_TensorByteSize(const TF_Tensor*)`.
    let tensorByteSize: @convention(c) (OpaquePointer?) -> Int
    /// `void* TF_TensorData(const TF_Tensor*)`.
    let tensorData: @convention(c) (OpaquePointer?) -> UnsafeMutableRawPointer?
    /// `int64_t TF_TensorElementCount(const TF_Tensor*)`.
    let tensorElementCount: @convention(c) (OpaquePointer?) -> Int64

    // tf_tstring.h: a `TF_TString` is 24 bytes (`ctstring_internal.h`); these work on one in place.
    /// `void TF_StringInit(TF_TString*)`: an empty string.
    let stringInit: @convention(c) (UnsafeMutableRawPointer?) -> Void
    /// `void TF_StringCopy(TF_TString*, const char* src, size_t size)`: a copy of `size` bytes,
    /// inline when short, else in memory the string owns.
    let stringCopy: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, Int) -> Void
    /// `const char* TF_StringGetDataPointer(const TF_TString*)`.
    let stringGetDataPointer: @convention(c) (UnsafeRawPointer?) -> UnsafePointer<CChar>?
    /// `size_t TF_StringGetSize(const TF_TString*)`.
    let stringGetSize: @convention(c) (UnsafeRawPointer?) -> Int

    /// Looks every function up in `handle` (and the libraries it depends on).
    /// - Throws: the names of the symbols that are missing.
    init(handle: UnsafeMutableRawPointer) throws(TFLibraryOpenError) {
        var missing: [String] = []
        func load<F>(_ name: String) -> F {
            guard let symbol = dlsym(handle, name) else {
                missing.append(name)
                // A non-NULL stand-in, never called: init throws below when anything is missing.
                return unsafeBitCast(UnsafeRawPointer(bitPattern: 1)!, to: F.self)
            }
            return unsafeBitCast(symbol, to: F.self)
        }
        version = load("TF_Version")
        newSessionOptions = load("TF_NewSessionOptions")
        setConfig = load("TF_SetConfig")
        deleteSessionOptions = load("TF_DeleteSessionOptions")
        newGraph = load("TF_NewGraph")
        deleteGraph = load("TF_DeleteGraph")
        loadSessionFromSavedModel = load("TF_LoadSessionFromSavedModel")
        closeSession = load("TF_CloseSession")
        deleteSession = load("TF_DeleteSession")
        graphOperationByName = load("TF_GraphOperationByName")
        operationNumOutputs = load("TF_OperationNumOutputs")
        sessionRun = load("TF_SessionRun")
        newStatus = load("TF_NewStatus")
        deleteStatus = load("TF_DeleteStatus")
        getCode = load("TF_GetCode")
        message = load("TF_Message")
        newBuffer = load("TF_NewBuffer")
        deleteBuffer = load("TF_DeleteBuffer")
        allocateTensor = load("TF_AllocateTensor")
        deleteTensor = load("TF_DeleteTensor")
        tensorType = load("TF_TensorType")
        numDims = load("TF_NumDims")
        dim = load("TF_Dim")
        tensorByteSize = load("TF_TensorByteSize")
        tensorData = load("TF_TensorData")
        tensorElementCount = load("TF_TensorElementCount")
        stringInit = load("TF_StringInit")
        stringCopy = load("TF_StringCopy")
        stringGetDataPointer = load("TF_StringGetDataPointer")
        stringGetSize = load("TF_StringGetSize")
        guard missing.isEmpty else {
            throw TFLibraryOpenError(
                reason: "not TensorFlow's C API library (missing \(missing.joined(separator: ", ")))")
        }
    }
}
