#include "probes_p.h"

#include <torch/library.h>
#include <torch/torch.h>

#include <unordered_map>

namespace sparsity::detail {

namespace {

std::mutex registryMutex;
std::unordered_map<int, std::shared_ptr<ProbeState>> registry;
int nextId = 1;

} // namespace

int registerProbeState(std::shared_ptr<ProbeState> state)
{
    std::lock_guard<std::mutex> lock(registryMutex);
    const int id = nextId++;
    registry[id] = std::move(state);
    return id;
}

void unregisterProbeState(int id)
{
    std::lock_guard<std::mutex> lock(registryMutex);
    registry.erase(id);
}

std::shared_ptr<ProbeState> probeState(int id)
{
    std::lock_guard<std::mutex> lock(registryMutex);
    auto it = registry.find(id);
    return it == registry.end() ? nullptr : it->second;
}

namespace {

// One value per channel of `x` (N x C x ...) as a tensor that broadcasts against it; undefined when the values do
// not match x's channels (the caller then uses the site's scalar).
at::Tensor perChannelTensor(const std::vector<float> &values, const at::Tensor &x)
{
    if (values.empty() || x.dim() < 2 || x.size(1) != std::int64_t(values.size()))
        return {};
    std::vector<std::int64_t> shape(std::size_t(x.dim()), 1);
    shape[1] = x.size(1);
    return torch::tensor(values, x.options()).view(shape);
}

at::Tensor applyThreshold(const at::Tensor &x, ProbeState &state, int site, bool inPlace)
{
    if (!state.thresholdable[std::size_t(site)])
        return x;
    if (const auto t = perChannelTensor(state.channelThresholds[std::size_t(site)], x); t.defined()) {
        auto kept = x.gt(t);
        return inPlace ? x.mul_(kept) : x * kept;
    }
    const float t = state.thresholds[std::size_t(site)];
    if (t == 0.0f)
        return x; // aten::threshold(x, 0, 0) on a non-negative activation output is the identity
    return inPlace ? at::threshold_(const_cast<at::Tensor &>(x), t, 0.0) : at::threshold(x, t, 0.0);
}

void recordPenalty(const at::Tensor &y, ProbeState &state, int site)
{
    if (!state.regularize || !state.inScope[std::size_t(site)])
        return;
    const float band = state.band[std::size_t(site)];
    const auto channelBand =
        std::size_t(site) < state.channelBand.size() ? perChannelTensor(state.channelBand[std::size_t(site)], y) : at::Tensor();
    const auto inBand = channelBand.defined() ? (y > 0).logical_and(y <= channelBand)
                                              : (band > 0.0f ? (y > 0).logical_and(y <= band) : (y > 0));
    auto selected = y * inBand.to(y.scalar_type());
    at::Tensor term;
    if (state.hoyer) {
        auto l1 = selected.abs().sum();
        term = l1 * l1 / (selected.pow(2).sum() + 1e-12) / double(y.numel());
    } else {
        term = selected.abs().sum() / double(y.numel());
    }
    if (std::size_t(site) < state.penaltyWeight.size())
        term = term * double(state.penaltyWeight[std::size_t(site)]);
    state.penaltyTerms.push_back(term);
}

void recordFirstExecution(ProbeState &state, std::size_t site, const at::Tensor &x)
{
    if (state.shapes[site].empty() && x.dim() >= 1) {
        std::lock_guard<std::mutex> lock(state.mutex);
        state.shapes[site] = std::vector<std::int64_t>(x.sizes().begin() + 1, x.sizes().end());
        state.executionOrder[site] = state.executedCount++;
    }
}

void keepFeatureMaps(ProbeState &state, std::size_t site, const at::Tensor &y)
{
    if (state.keepBatchPositions.empty())
        return;
    auto positions = torch::tensor(std::vector<int64_t>(state.keepBatchPositions.begin(), state.keepBatchPositions.end()));
    state.keptMaps[site].push_back(y.index_select(0, positions).clone());
}

at::Tensor runProbe(const at::Tensor &x, int64_t model, int64_t site, bool inPlace)
{
    auto state = probeState(int(model));
    if (!state)
        return x; // a probe of a model that was closed: behave as the identity
    const auto s = std::size_t(site);
    recordFirstExecution(*state, s, x);
    at::Tensor y = applyThreshold(x, *state, int(site), inPlace);
    if (y.requires_grad()) {
        if (state->retainOutputs) {
            // Inspection: the penalty of this site on a detached leaf, so its gradient is the site's own
            // term only, not what later sites' penalties send back through it.
            auto leaf = y.detach().clone().requires_grad_(true);
            state->retainedOutputs.emplace_back(int(site), leaf);
            recordPenalty(leaf, *state, int(site));
        } else {
            recordPenalty(y, *state, int(site));
        }
        auto zeros = (y.detach() == 0).sum().item<std::int64_t>();
        state->trainZeros[s] += zeros;
        state->trainElements[s] += y.numel();
    } else if (state->collectStats) {
        accumulateStats(y, state->stats[s]);
        keepFeatureMaps(*state, s, y);
    }
    return y;
}

// A ReLU site whose activation the probe itself computes. While statistics are collected (no autograd, a
// scalar threshold) the ReLU, the threshold and the statistics are one pass over the activation instead of
// three; otherwise it is aten::relu followed by the ordinary probe.
at::Tensor probeRelu(const at::Tensor &x, int64_t model, int64_t site)
{
    auto state = probeState(int(model));
    const auto s = std::size_t(site);
    const bool overwrite = state && state->overwritesInput[s] && !x.requires_grad() && x.is_contiguous();
    const bool fused = state && state->collectStats && !x.requires_grad() && x.scalar_type() == at::kFloat &&
                       state->channelThresholds[s].empty();
    if (!fused)
        return overwrite ? runProbe(at::relu_(const_cast<at::Tensor &>(x)), model, site, true)
                         : runProbe(at::relu(x), model, site, false);
    recordFirstExecution(*state, s, x);
    const float t = state->thresholdable[s] ? std::max(0.0f, state->thresholds[s]) : 0.0f;
    at::Tensor y = thresholdWithStats(x, t, state->stats[s], overwrite);
    keepFeatureMaps(*state, s, y);
    return y;
}

at::Tensor probe(const at::Tensor &x, int64_t model, int64_t site)
{
    return runProbe(x, model, site, false);
}

at::Tensor &probeInPlace(at::Tensor &x, int64_t model, int64_t site)
{
    runProbe(x, model, site, true);
    return x;
}

} // namespace

} // namespace sparsity::detail

TORCH_LIBRARY(sparsity, m)
{
    m.def("probe(Tensor x, int model, int site) -> Tensor");
    m.def("probe_(Tensor(a!) x, int model, int site) -> Tensor(a!)");
    m.def("probe_relu(Tensor x, int model, int site) -> Tensor");
}

TORCH_LIBRARY_IMPL(sparsity, CompositeImplicitAutograd, m)
{
    m.impl("probe", &sparsity::detail::probe);
    m.impl("probe_", &sparsity::detail::probeInPlace);
    m.impl("probe_relu", &sparsity::detail::probeRelu);
}
