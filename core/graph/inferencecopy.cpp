// The inference copy of an instrumented model: evaluation and capture run on a frozen, inference-optimised clone
// (torch::jit::freeze folds each BatchNorm into the convolution before it, propagates constants;
// optimize_for_inference adds its CPU passes), with the same probes, so statistics and thresholds work as on the
// model itself. Thresholds live in the probes' state, not in the graph: changing them never rebuilds the copy.
#include "graph/model_p.h"

#include <torch/csrc/jit/api/module.h>

#include <map>

namespace sparsity {

namespace {

std::vector<std::pair<const void *, std::int64_t>> weightsFingerprint(const torch::jit::Module &module)
{
    std::vector<std::pair<const void *, std::int64_t>> fingerprint;
    for (const auto &p : module.named_parameters(true))
        fingerprint.emplace_back(p.value.unsafeGetTensorImpl(), std::int64_t(p.value._version()));
    for (const auto &b : module.named_buffers(true))
        fingerprint.emplace_back(b.value.unsafeGetTensorImpl(), std::int64_t(b.value._version()));
    return fingerprint;
}

// The clone shares the model's tensors; should a weight have been replaced rather than written in place, copy it.
void syncWeights(const torch::jit::Module &from, torch::jit::Module &to)
{
    std::map<std::string, at::Tensor> source;
    for (const auto &p : from.named_parameters(true))
        source[p.name] = p.value;
    for (const auto &b : from.named_buffers(true))
        source["buffer:" + b.name] = b.value;
    auto copy = [&](const std::string &name, at::Tensor target) {
        const auto it = source.find(name);
        if (it != source.end() && !it->second.is_same(target))
            target.copy_(it->second);
    };
    for (const auto &p : to.named_parameters(true))
        copy(p.name, p.value);
    for (const auto &b : to.named_buffers(true))
        copy("buffer:" + b.name, b.value);
}

std::string firstLine(const std::string &message)
{
    return message.substr(0, message.find('\n'));
}

} // namespace

torch::jit::Module &Model::Impl::inferenceModule()
{
    if (!unfolded)
        return module;
    auto fingerprint = weightsFingerprint(module);
    if (inference && fingerprint == inferenceWeights)
        return *inference;
    inference.reset();
    try {
        // Freezing reads the weights as they are now; outside inference mode so they stay ordinary tensors.
        c10::InferenceMode off(false);
        torch::NoGradGuard noGrad;
        syncWeights(module, *unfolded);
        auto frozen = torch::jit::freeze(*unfolded);
        inference = std::make_unique<torch::jit::Module>(torch::jit::optimize_for_inference(frozen));
        inferenceProblem.clear();
        ++inferenceBuilds;
    } catch (const std::exception &e) {
        inferenceProblem = "cannot freeze the model (" + firstLine(e.what()) + ")";
        return module;
    }
    inferenceWeights = std::move(fingerprint);
    return *inference;
}

std::string Model::inferenceCopyProblem() const
{
    return d->inferenceProblem;
}

int Model::inferenceCopyBuilds() const
{
    return d->inferenceBuilds;
}

} // namespace sparsity
