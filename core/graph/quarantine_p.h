#pragma once
// Internal to core: checks on a loaded TorchScript module that Model::load runs in the checker and in the process.

#include <torch/script.h>
#include <torch/serialize/input-archive.h>

#include <string>

namespace sparsity::detail {

// Every tensor attribute (parameters, buffers, other attributes, recursively) and every tensor constant of the
// module's methods must be strided, with non-negative strides, and lie inside its storage: an archive can declare
// a tensor larger than the record that holds it, and reading it would run past the buffer.
// What the checker does with a tensor archive (tuned weights, checkpoint): its zip structure, then every entry read
// as LibTorch reads it, each tensor checked as above. Throws sparsity::Error or whatever LibTorch throws.
void loadTensorArchiveEntries(const std::string &bytes, const std::string &path);

void checkModuleTensors(const torch::jit::Module &module, const std::string &path);

} // namespace sparsity::detail
