#pragma once

#include <string>

namespace sparsity {

class Model;

// True when `path` names an ONNX model (by its .onnx suffix, any case).
bool isOnnxPath(const std::string &path);

// Reads an ONNX model and builds the engine's own representation of it: a TorchScript module whose parameters
// and buffers are the ONNX initializers and whose forward graph is made from the ONNX nodes. Returns that module
// saved as a TorchScript archive (with a sparsity_metadata.json naming the sites after the ONNX node names), so
// that everything downstream of Model::load works on it unchanged. Throws sparsity::Error naming the file and
// the problem: not ONNX, truncated, fails the ONNX checker, an external-data file missing, an operator that is
// not supported (naming the operator and the node).
std::string importOnnxAsTorchScript(const std::string &path);

// ONNX out (graph/onnxexport.cpp): the tuned model as ONNX, opset 13. A scalar threshold becomes ThresholdedRelu
// after its activation (a ReLU6 keeps its Clip), per-channel thresholds standard ops, the tuned weights
// initializers; `metadataJson` plus the thresholds and site names go into metadata_props. The result passes the
// ONNX checker and is written atomically; the model's own input file is never overwritten. Throws sparsity::Error
// naming an operator that has no ONNX translation.
void exportThresholdedOnnx(const Model &model, const std::string &outPath, const std::string &metadataJson);

} // namespace sparsity
