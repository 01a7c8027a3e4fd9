#pragma once
// Internal to core: the weights file format for a bare TorchScript module (the distillation teacher).

#include <torch/script.h>
#include <torch/serialize/archive.h>

#include <string>

namespace sparsity {

// As saveWeights / loadWeights (weights.h); `modelName` is recorded so a mismatch can say where the file came from.
void saveModuleWeights(const torch::jit::Module &module, const std::string &modelName, const std::string &path);
void loadModuleWeights(torch::jit::Module &module, const std::string &path);

// The parameters and buffers of `module` as "param/NAME" and "buffer/NAME" entries of an archive (the weights
// file, training checkpoints). Reading checks every tensor's presence and shape, and that the archive holds none
// the module lacks, before copying any: on an error (naming `path`; `origin` says where the tensors came from)
// the module is unchanged.
void writeModuleTensors(torch::serialize::OutputArchive &archive, const torch::jit::Module &module);
void readModuleTensors(torch::serialize::InputArchive &archive, torch::jit::Module &module, const std::string &path,
                       const std::string &origin);

} // namespace sparsity
