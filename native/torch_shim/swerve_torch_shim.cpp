// libswerve_torch_shim.so: the C interface of swerve_torch_shim.h over libtorch's C++ API.
// Built by scripts/build_torch_shim.sh against the torch wheel's headers.
#include "swerve_torch_shim.h"

#include <ATen/Parallel.h>
#include <ATen/core/ivalue.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/headeronly/version.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

struct SwerveTorchModule {
  torch::jit::Module module;
  torch::jit::Method forward;
  std::string note;
  std::vector<std::string> argumentNames;
  std::vector<std::string> argumentTypes;
  std::vector<bool> borrowed;
  int32_t returnKind = SWERVE_TORCH_RETURNS_OTHER;
  std::string returnType;
  int32_t returnArity = 0;

  SwerveTorchModule(torch::jit::Module module, std::string note)
      : module(std::move(module)), forward(this->module.get_method("forward")), note(std::move(note)) {}
};

struct SwerveTorchResult {
  std::vector<at::Tensor> tensors;
  std::vector<std::vector<int64_t>> shapes;
};

namespace {

char* copyMessage(const std::string& message) {
  char* copy = static_cast<char*>(std::malloc(message.size() + 1));
  if (copy != nullptr) {
    std::memcpy(copy, message.c_str(), message.size() + 1);
  }
  return copy;
}

void report(char** error, const std::string& message) {
  if (error != nullptr) {
    *error = copyMessage(message);
  }
}

// Runs `body`, turning any exception into `*error` and `failed`.
template <typename Result, typename Body>
Result guarded(char** error, Result failed, Body&& body) {
  try {
    return body();
  } catch (const c10::Error& e) {
    report(error, e.what_without_backtrace());
  } catch (const std::exception& e) {
    report(error, e.what());
  } catch (...) {
    report(error, "unknown C++ exception");
  }
  return failed;
}

bool scalarType(int32_t code, at::ScalarType* type) {
  switch (code) {
    case SWERVE_TORCH_BOOL: *type = at::kBool; return true;
    case SWERVE_TORCH_UINT8: *type = at::kByte; return true;
    case SWERVE_TORCH_INT8: *type = at::kChar; return true;
    case SWERVE_TORCH_INT16: *type = at::kShort; return true;
    case SWERVE_TORCH_INT32: *type = at::kInt; return true;
    case SWERVE_TORCH_INT64: *type = at::kLong; return true;
    case SWERVE_TORCH_FP16: *type = at::kHalf; return true;
    case SWERVE_TORCH_BF16: *type = at::kBFloat16; return true;
    case SWERVE_TORCH_FP32: *type = at::kFloat; return true;
    case SWERVE_TORCH_FP64: *type = at::kDouble; return true;
    default: return false;
  }
}

int32_t typeCode(at::ScalarType type) {
  switch (type) {
    case at::kBool: return SWERVE_TORCH_BOOL;
    case at::kByte: return SWERVE_TORCH_UINT8;
    case at::kChar: return SWERVE_TORCH_INT8;
    case at::kShort: return SWERVE_TORCH_INT16;
    case at::kInt: return SWERVE_TORCH_INT32;
    case at::kLong: return SWERVE_TORCH_INT64;
    case at::kHalf: return SWERVE_TORCH_FP16;
    case at::kBFloat16: return SWERVE_TORCH_BF16;
    case at::kFloat: return SWERVE_TORCH_FP32;
    case at::kDouble: return SWERVE_TORCH_FP64;
    default: return -1;
  }
}

bool isTensor(const c10::TypePtr& type) { return type->kind() == c10::TypeKind::TensorType; }

// Whether a node of `block` (or of a block nested in it) sets a module attribute or calls a method
// that inlining left in place (an interface call), either of which may keep an input.
bool keepsState(torch::jit::Block* block) {
  for (torch::jit::Node* node : block->nodes()) {
    if (node->kind() == c10::prim::SetAttr || node->kind() == c10::prim::CallMethod) {
      return true;
    }
    for (torch::jit::Block* nested : node->blocks()) {
      if (keepsState(nested)) {
        return true;
      }
    }
  }
  return false;
}

// For each argument (self excluded): whether its buffer may be handed to forward without a copy,
// because no op of the inlined graph writes to it or anything that may alias it, and the graph
// stores nothing in the module. When the analysis fails, every argument is copied.
std::vector<bool> borrowableArguments(const torch::jit::Method& forward, size_t count) {
  std::vector<bool> result(count, false);
  try {
    std::shared_ptr<torch::jit::Graph> graph = forward.graph()->copy();
    torch::jit::Inline(*graph);
    if (keepsState(graph->block()) || graph->inputs().size() != count + 1) {
      return result;
    }
    torch::jit::AliasDb aliases(graph);
    for (size_t index = 0; index < count; index++) {
      result[index] = !aliases.hasWriters(graph->inputs()[index + 1]);
    }
  } catch (...) {
    std::fill(result.begin(), result.end(), false);
  }
  return result;
}

void describeSignature(SwerveTorchModule& loaded) {
  const c10::FunctionSchema& schema = loaded.forward.function().getSchema();
  const auto& arguments = schema.arguments();
  for (size_t index = 1; index < arguments.size(); index++) {
    loaded.argumentNames.push_back(arguments[index].name());
    loaded.argumentTypes.push_back(arguments[index].type()->annotation_str());
  }
  loaded.borrowed = borrowableArguments(loaded.forward, loaded.argumentNames.size());
  if (schema.returns().size() != 1) {
    loaded.returnType = std::to_string(schema.returns().size()) + " values";
    return;
  }
  const c10::TypePtr& type = schema.returns()[0].type();
  loaded.returnType = type->annotation_str();
  if (isTensor(type)) {
    loaded.returnKind = SWERVE_TORCH_RETURNS_TENSOR;
    loaded.returnArity = 1;
  } else if (auto tuple = type->cast<c10::TupleType>()) {
    bool allTensors = true;
    for (const auto& element : tuple->elements()) {
      allTensors = allTensors && isTensor(element);
    }
    if (allTensors) {
      loaded.returnKind = SWERVE_TORCH_RETURNS_TUPLE;
      loaded.returnArity = static_cast<int32_t>(tuple->elements().size());
    }
  } else if (auto list = type->cast<c10::ListType>()) {
    if (isTensor(list->getElementType())) {
      loaded.returnKind = SWERVE_TORCH_RETURNS_LIST;
    }
  }
}

// Flattens forward's value into contiguous CPU tensors.
void collectOutputs(const c10::IValue& value, SwerveTorchResult& result) {
  auto add = [&result](const at::Tensor& tensor, size_t index) {
    TORCH_CHECK(tensor.defined(), "output ", index, " of forward is an undefined tensor");
    TORCH_CHECK(tensor.layout() == at::kStrided, "output ", index, " of forward is not a dense tensor");
    TORCH_CHECK(tensor.device().is_cpu(), "output ", index, " of forward is on ", tensor.device().str(), ", not the CPU");
    at::Tensor dense = tensor.contiguous();
    result.shapes.emplace_back(dense.sizes().begin(), dense.sizes().end());
    result.tensors.push_back(std::move(dense));
  };
  if (value.isTensor()) {
    add(value.toTensor(), 0);
    return;
  }
  std::vector<c10::IValue> elements;
  if (value.isTuple()) {
    elements = value.toTupleRef().elements().vec();
  } else if (value.isList()) {
    elements = value.toListRef().vec();
  } else {
    TORCH_CHECK(false, "forward returned a ", value.tagKind(), "; only a Tensor, or a tuple or list of Tensors, can be served");
  }
  for (size_t index = 0; index < elements.size(); index++) {
    TORCH_CHECK(elements[index].isTensor(), "output ", index, " of forward is a ", elements[index].tagKind(),
                "; only a Tensor, or a tuple or list of Tensors, can be served");
    add(elements[index].toTensor(), index);
  }
}

}  // namespace

extern "C" {

int32_t swerve_torch_api_version(void) { return SWERVE_TORCH_API_VERSION; }

const char* swerve_torch_version(void) { return TORCH_VERSION; }

int32_t swerve_torch_set_threads(int32_t intra_op, int32_t inter_op, char** error) {
  return guarded<int32_t>(error, -1, [&] {
    static std::once_flag once;
    std::call_once(once, [&] {
      at::set_num_threads(intra_op < 1 ? 1 : intra_op);
      try {
        at::set_num_interop_threads(inter_op < 1 ? 1 : inter_op);
      } catch (const c10::Error&) {
        // Already set in this process (another copy of the shim over the same libtorch): the
        // inter-op pool only runs torch.jit.fork tasks, so its size is kept as it is.
      }
    });
    return static_cast<int32_t>(at::get_num_threads());
  });
}

SwerveTorchModule* swerve_torch_load(const char* path, int32_t optimize, char** error) {
  return guarded<SwerveTorchModule*>(error, nullptr, [&]() -> SwerveTorchModule* {
    TORCH_CHECK(path != nullptr, "no path given");
    torch::jit::Module module = torch::jit::load(std::string(path), c10::Device(c10::kCPU));
    TORCH_CHECK(module.find_method("forward").has_value(), "the TorchScript module has no forward method");
    module.eval();
    std::string note;
    torch::jit::Module served = module;
    try {
      served = torch::jit::freeze(module);
      if (optimize != 0) {
        served = torch::jit::optimize_for_inference(served);
      }
    } catch (const c10::Error& e) {
      note = std::string("not frozen: ") + e.what_without_backtrace();
      served = module;
    } catch (const std::exception& e) {
      note = std::string("not frozen: ") + e.what();
      served = module;
    }
    auto loaded = std::make_unique<SwerveTorchModule>(served, note);
    describeSignature(*loaded);
    return loaded.release();
  });
}

void swerve_torch_module_free(SwerveTorchModule* module) {
  try {
    delete module;
  } catch (...) {
  }
}

const char* swerve_torch_module_note(const SwerveTorchModule* module) { return module->note.c_str(); }

int32_t swerve_torch_argument_count(const SwerveTorchModule* module) {
  return static_cast<int32_t>(module->argumentNames.size());
}

const char* swerve_torch_argument_name(const SwerveTorchModule* module, int32_t index) {
  if (index < 0 || static_cast<size_t>(index) >= module->argumentNames.size()) return nullptr;
  return module->argumentNames[index].c_str();
}

const char* swerve_torch_argument_type(const SwerveTorchModule* module, int32_t index) {
  if (index < 0 || static_cast<size_t>(index) >= module->argumentTypes.size()) return nullptr;
  return module->argumentTypes[index].c_str();
}

int32_t swerve_torch_argument_borrowed(const SwerveTorchModule* module, int32_t index) {
  if (index < 0 || static_cast<size_t>(index) >= module->borrowed.size()) return 0;
  return module->borrowed[index] ? 1 : 0;
}

int32_t swerve_torch_return_kind(const SwerveTorchModule* module) { return module->returnKind; }

const char* swerve_torch_return_type(const SwerveTorchModule* module) { return module->returnType.c_str(); }

int32_t swerve_torch_return_arity(const SwerveTorchModule* module) { return module->returnArity; }

SwerveTorchResult* swerve_torch_forward(
    const SwerveTorchModule* module, int32_t count, const int32_t* dtypes, const int32_t* ranks,
    const int64_t* const* shapes, const void* const* data, char** error) {
  return guarded<SwerveTorchResult*>(error, nullptr, [&]() -> SwerveTorchResult* {
    TORCH_CHECK(count >= 0 && static_cast<size_t>(count) == module->argumentNames.size(), "forward takes ",
                module->argumentNames.size(), " tensors, ", count, " given");
    c10::InferenceMode guard;
    std::vector<c10::IValue> arguments;
    arguments.reserve(count);
    for (int32_t index = 0; index < count; index++) {
      at::ScalarType type;
      TORCH_CHECK(scalarType(dtypes[index], &type), "input ", index, " has unknown element type code ", dtypes[index]);
      TORCH_CHECK(ranks[index] >= 0, "input ", index, " has a negative rank");
      c10::IntArrayRef sizes(shapes[index], static_cast<size_t>(ranks[index]));
      auto options = at::TensorOptions().dtype(type).device(c10::kCPU);
      int64_t elements = c10::multiply_integers(sizes);
      auto address = reinterpret_cast<uintptr_t>(data[index]);
      if (elements == 0 || data[index] == nullptr) {
        TORCH_CHECK(elements == 0, "input ", index, " has no data for ", elements, " elements");
        arguments.emplace_back(at::empty(sizes, options));
      } else if (module->borrowed[index] && address % c10::elementSize(type) == 0) {
        // The run only reads the buffer: see swerve_torch_argument_borrowed.
        arguments.emplace_back(at::from_blob(const_cast<void*>(data[index]), sizes, options));
      } else {
        arguments.emplace_back(at::from_blob(const_cast<void*>(data[index]), sizes, options).clone());
      }
    }
    // Each thread sizes its OpenMP team from the process-wide setting on its first parallel
    // region; done here, a new calling thread gets swerve_torch_set_threads's count.
    at::init_num_threads();
    c10::IValue value = module->forward(std::move(arguments));
    auto result = std::make_unique<SwerveTorchResult>();
    collectOutputs(value, *result);
    return result.release();
  });
}

int32_t swerve_torch_result_count(const SwerveTorchResult* result) {
  return static_cast<int32_t>(result->tensors.size());
}

int32_t swerve_torch_result_tensor(
    const SwerveTorchResult* result, int32_t index, int32_t* dtype, int32_t* rank, const int64_t** shape,
    const void** data, int64_t* byte_count, char** error) {
  return guarded<int32_t>(error, -1, [&]() -> int32_t {
    TORCH_CHECK(index >= 0 && static_cast<size_t>(index) < result->tensors.size(), "no output ", index, " (forward returned ",
                result->tensors.size(), ")");
    const at::Tensor& tensor = result->tensors[index];
    int32_t code = typeCode(tensor.scalar_type());
    TORCH_CHECK(code >= 0, "output ", index, " has element type ", c10::toString(tensor.scalar_type()),
                ", which KServe cannot carry");
    *dtype = code;
    *rank = static_cast<int32_t>(result->shapes[index].size());
    *shape = result->shapes[index].data();
    *data = tensor.data_ptr();
    *byte_count = static_cast<int64_t>(tensor.nbytes());
    return 0;
  });
}

void swerve_torch_result_free(SwerveTorchResult* result) {
  try {
    delete result;
  } catch (...) {
  }
}

void swerve_torch_string_free(char* message) { std::free(message); }

}  // extern "C"
