// The inference copy of an instrumented model: evaluation and capture run on a frozen, inference-optimised clone
// (torch::jit::freeze folds each BatchNorm into the convolution before it and propagates constants; convolution
// weights go channels-last; a residual add or a ReLU6 clamp feeding a site rides on its probe), with the same
// probes, so statistics and thresholds work as on the model itself. Thresholds live in the probes' state, not in
// the graph: changing them never rebuilds the copy.
#include "graph/instrument_p.h"
#include "graph/model_p.h"

#include <torch/csrc/jit/api/module.h>

#include <torch/csrc/jit/ir/ir.h>

#include <cstdlib>
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

// SPARSITY_INFERENCE_LAYOUT=mkldnn: the copy as optimize_for_inference makes it (MKLDNN layout, converted to and
// from at every probe), kept for bench_inference's comparison.
bool mkldnnLayoutRequested()
{
    const char *layout = std::getenv("SPARSITY_INFERENCE_LAYOUT");
    return layout && std::string(layout) == "mkldnn";
}

std::string firstLine(const std::string &message)
{
    return message.substr(0, message.find('\n'));
}

} // namespace

// A convolution whose weight is channels-last runs oneDNN on channels-last tensors and gives a channels-last output
// (so the next one does too): no layout conversion at the probes between them, which read that layout as it is.
// optimize_for_inference's MKLDNN layout would need a conversion on both sides of every probe.
void detail::convolutionWeightsChannelsLast(torch::jit::Module &frozen)
{
    for (auto *node : frozen.get_method("forward").graph()->nodes()) {
        if (node->kind() != c10::prim::Constant || !node->output()->type()->cast<c10::TensorType>())
            continue;
        const auto weight = node->t(c10::attr::value);
        if (weight.dim() != 4 || weight.is_contiguous(at::MemoryFormat::ChannelsLast))
            continue;
        bool onlyWeights = !node->output()->uses().empty();
        for (const auto &use : node->output()->uses())
            onlyWeights = onlyWeights && use.offset == 1 && detail::isConvolution(use.user->kind());
        if (onlyWeights)
            node->t_(c10::attr::value, weight.contiguous(at::MemoryFormat::ChannelsLast));
    }
}

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
        if (mkldnnLayoutRequested()) {
            inference = std::make_unique<torch::jit::Module>(torch::jit::optimize_for_inference(frozen));
        } else {
            detail::convolutionWeightsChannelsLast(frozen);
            auto *block = frozen.get_method("forward").graph()->block();
            detail::foldResidualsIntoProbes(block);
            detail::foldClampsIntoProbes(block);
            inference = std::make_unique<torch::jit::Module>(std::move(frozen));
        }
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

std::string Model::inferenceCopyGraphText() const
{
    std::lock_guard<std::mutex> lock(d->runMutex);
    return d->inference ? d->inference->get_method("forward").graph()->toString() : std::string();
}

} // namespace sparsity
