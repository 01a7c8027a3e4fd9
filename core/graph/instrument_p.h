#pragma once
// Internal to core/graph: how Model::load puts the probes into a TorchScript graph (instrument.cpp).

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

namespace sparsity::detail {

struct ProbeKinds {
    c10::Symbol probe, probeInPlace, probeRelu, probeBatchNormRelu, probeBatchNormAddRelu, batchNorm, probeAddRelu, probeClamp;
};
const ProbeKinds &probeKinds();

// Inserts a probe right after the node that produces `value` (for a graph or block input: at the start of
// that block) and makes every later use read the probe's output.
torch::jit::Node *insertProbe(torch::jit::Graph &g, torch::jit::Value *value, int modelId, int site, bool inPlace);
// A functional aten::relu becomes sparsity::probe_relu(x): the probe computes the ReLU itself, so capture can
// apply it, the threshold and the statistics in one pass (bench/bench_capture).
torch::jit::Node *replaceReluByProbe(torch::jit::Graph &g, torch::jit::Node *relu, int modelId, int site);
bool isProbe(const torch::jit::Node *node);
// aten::conv2d, aten::convolution or aten::_convolution: the ops whose weights the inference copy stores channels-last.
bool isConvolution(c10::Symbol kind);
// probe_relu(batch_norm(x, ...)) becomes probe_bn_relu(x, ...), and probe_relu(add(batch_norm(x, ...), r, alpha))
// (a residual block's `out += identity`) probe_bn_add_relu(x, ..., r, alpha), when nothing else reads the
// intermediate results: while capturing, the probe folds them into its own pass (see probes.cpp). Returns the new
// node or nullptr.
torch::jit::Node *foldBatchNormIntoProbe(torch::jit::Node *probe);
// Every aten::batch_norm left in `block` (and its sub-blocks) becomes sparsity::batch_norm(..., model): the same op,
// unless the model's training asks for synchronised BatchNorm (ProbeState::trainingBatchNorm). Returns the count.
int routeBatchNorms(torch::jit::Block *block, int modelId);
// In the inference copy, where freezing folded the BatchNorms into the convolutions: probe_relu(add(x, r, alpha))
// becomes probe_add_relu(x, r, alpha) when nothing else reads the sum, so a capture adds the residual in its own pass.
// Returns the count.
int foldResidualsIntoProbes(torch::jit::Block *block);
// Also in the copy: probe(hardtanh(x, lower, upper)) (ReLU6) becomes probe_clamp(x, lower, upper) when nothing else
// reads the clamped tensor, so a capture clamps in its own pass. Returns the count.
int foldClampsIntoProbes(torch::jit::Block *block);
// In a frozen module: every 4-D constant that only convolutions read as weights is stored channels-last, so oneDNN
// runs them on channels-last tensors end to end (inferencecopy.cpp; bench_inference times it without probes too).
void convolutionWeightsChannelsLast(torch::jit::Module &frozen);

} // namespace sparsity::detail
