#pragma once
// Internal to core: checks on a loaded TorchScript module that Model::load runs in the checker and in the process.

#include <torch/script.h>

#include <string>

namespace sparsity::detail {

// Every tensor attribute (parameters, buffers, other attributes, recursively) and every tensor constant of the
// module's methods must be strided, with non-negative strides, and lie inside its storage: an archive can declare
// a tensor larger than the record that holds it, and reading it would run past the buffer.
void checkModuleTensors(const torch::jit::Module &module, const std::string &path);

} // namespace sparsity::detail
