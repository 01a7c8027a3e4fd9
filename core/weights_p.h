#pragma once
// Internal to core: the weights file format for a bare TorchScript module (the distillation teacher).

#include <torch/script.h>

#include <string>

namespace sparsity {

// As saveWeights / loadWeights (weights.h); `modelName` is recorded so a mismatch can say where the file came from.
void saveModuleWeights(const torch::jit::Module &module, const std::string &modelName, const std::string &path);
void loadModuleWeights(torch::jit::Module &module, const std::string &path);

} // namespace sparsity
