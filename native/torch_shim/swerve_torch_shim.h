// The C interface of libswerve_torch_shim.so: TorchScript models loaded and run with libtorch
// (torch::jit), for Swerve's SwerveTorch target, which opens the library with dlopen and declares
// these functions itself (Sources/SwerveTorch/TorchShimAPI.swift mirrors this file).
//
// Rules that hold for every function:
// - No C++ exception crosses this interface: each function catches every exception and reports it
//   as a message in `*error` (a string the caller frees with swerve_torch_string_free).
// - Functions that report errors return NULL or a negative number when they fail, and set `*error`
//   only then.
// - A module may be run from several threads at once; a result belongs to the thread that got it.
#ifndef SWERVE_TORCH_SHIM_H
#define SWERVE_TORCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Only the functions below are exported (the library is built with -fvisibility=hidden).
#define SWERVE_TORCH_EXPORT __attribute__((visibility("default")))

// Bumped whenever a signature or a meaning below changes; the Swift side refuses another value.
#define SWERVE_TORCH_API_VERSION 1

// Element types, numbered for this interface (not c10::ScalarType's numbers).
enum {
  SWERVE_TORCH_BOOL = 0,
  SWERVE_TORCH_UINT8 = 1,
  SWERVE_TORCH_INT8 = 2,
  SWERVE_TORCH_INT16 = 3,
  SWERVE_TORCH_INT32 = 4,
  SWERVE_TORCH_INT64 = 5,
  SWERVE_TORCH_FP16 = 6,
  SWERVE_TORCH_BF16 = 7,
  SWERVE_TORCH_FP32 = 8,
  SWERVE_TORCH_FP64 = 9,
};

// What forward returns, from its schema.
enum {
  // One tensor: output 0.
  SWERVE_TORCH_RETURNS_TENSOR = 0,
  // A tuple whose elements are all tensors: outputs 0..<arity.
  SWERVE_TORCH_RETURNS_TUPLE = 1,
  // A list of tensors, whose length is known only when it runs.
  SWERVE_TORCH_RETURNS_LIST = 2,
  // Anything else (a dict, a nested tuple, a number): refused at load.
  SWERVE_TORCH_RETURNS_OTHER = 3,
};

typedef struct SwerveTorchModule SwerveTorchModule;
typedef struct SwerveTorchResult SwerveTorchResult;

// SWERVE_TORCH_API_VERSION of the built library.
SWERVE_TORCH_EXPORT int32_t swerve_torch_api_version(void);

// The libtorch version the library was built against, e.g. "2.15.0" (static storage).
SWERVE_TORCH_EXPORT const char* swerve_torch_version(void);

// Sets libtorch's intra-op threads (at::set_num_threads, values below 1 count as 1) and inter-op
// threads (at::set_num_interop_threads, which libtorch allows once per process). Only the first
// call in the process sets anything; every call returns the intra-op threads in effect, or -1
// with `*error`.
SWERVE_TORCH_EXPORT int32_t swerve_torch_set_threads(int32_t intra_op, int32_t inter_op, char** error);

// Loads the TorchScript file at `path` (torch::jit::load on CPU), puts it in eval mode and
// freezes it (torch::jit::freeze, then torch::jit::optimize_for_inference unless `optimize` is 0).
// A module that cannot be frozen is served unfrozen; swerve_torch_module_note says why.
// Returns NULL with `*error` when the file is not a TorchScript archive or has no forward method.
SWERVE_TORCH_EXPORT SwerveTorchModule* swerve_torch_load(const char* path, int32_t optimize, char** error);

// Frees a module; it must not be running.
SWERVE_TORCH_EXPORT void swerve_torch_module_free(SwerveTorchModule* module);

// Why the module is not frozen, or "" when it is (owned by the module).
SWERVE_TORCH_EXPORT const char* swerve_torch_module_note(const SwerveTorchModule* module);

// The number of forward's arguments, `self` not counted.
SWERVE_TORCH_EXPORT int32_t swerve_torch_argument_count(const SwerveTorchModule* module);

// Argument `index`'s name and TorchScript type ("Tensor", "Dict(str, Tensor)", ...), owned by the
// module; NULL for an index out of range.
SWERVE_TORCH_EXPORT const char* swerve_torch_argument_name(const SwerveTorchModule* module, int32_t index);
SWERVE_TORCH_EXPORT const char* swerve_torch_argument_type(const SwerveTorchModule* module, int32_t index);

// Whether the run wraps argument `index`'s buffer without copying it (1) or copies it first (0)
// because forward may write to it or keep it (an in-place op, a module attribute set).
SWERVE_TORCH_EXPORT int32_t swerve_torch_argument_borrowed(const SwerveTorchModule* module, int32_t index);

// What forward returns (SWERVE_TORCH_RETURNS_*), its TorchScript type (owned by the module), and
// for a tensor or a tuple the number of tensors.
SWERVE_TORCH_EXPORT int32_t swerve_torch_return_kind(const SwerveTorchModule* module);
SWERVE_TORCH_EXPORT const char* swerve_torch_return_type(const SwerveTorchModule* module);
SWERVE_TORCH_EXPORT int32_t swerve_torch_return_arity(const SwerveTorchModule* module);

// Runs forward on `count` tensors, argument i from `dtypes[i]` (SWERVE_TORCH_*), `ranks[i]`
// dimensions in `shapes[i]` and the row-major buffer `data[i]` (which the run only reads; it may
// be NULL for a tensor without elements). The buffers must stay valid until the result is freed:
// an output may share an input's memory. Runs under c10::InferenceMode with the intra-op threads
// set by swerve_torch_set_threads.
// Returns the outputs (a tensor, or a tuple's or list's tensors in order, each made contiguous),
// or NULL with `*error` (torch's message without its C++ stack trace).
SWERVE_TORCH_EXPORT SwerveTorchResult* swerve_torch_forward(
    const SwerveTorchModule* module, int32_t count, const int32_t* dtypes, const int32_t* ranks,
    const int64_t* const* shapes, const void* const* data, char** error);

// The number of outputs in a result.
SWERVE_TORCH_EXPORT int32_t swerve_torch_result_count(const SwerveTorchResult* result);

// Describes output `index`: its element type, rank, dimensions and bytes (owned by the result).
// Returns 0, or -1 with `*error` for an index out of range or an element type this interface
// does not carry (complex, quantized, unsigned 16-64 bit, ...), named in the message.
SWERVE_TORCH_EXPORT int32_t swerve_torch_result_tensor(
    const SwerveTorchResult* result, int32_t index, int32_t* dtype, int32_t* rank, const int64_t** shape,
    const void** data, int64_t* byte_count, char** error);

// Frees a result.
SWERVE_TORCH_EXPORT void swerve_torch_result_free(SwerveTorchResult* result);

// Frees a message returned in `*error`.
SWERVE_TORCH_EXPORT void swerve_torch_string_free(char* message);

#ifdef __cplusplus
}
#endif

#endif
