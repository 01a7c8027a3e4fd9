#include "graph/probes_p.h"
#include "threads.h"

#include <torch/library.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
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

std::atomic<bool> foldBatchNorms{true};

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

// A learned threshold t in a training pass: forward, exactly x * (x > t); backward, the mask's step is read as a ramp
// of width t centred on t (straight-through), so d y / d t = -x / t for x within t/2 of t and 0 elsewhere, and
// d y / d x is the mask. The site's nonzero fraction, with the same ramp's gradient with respect to t only, goes to
// sparsityTerms: the pressure that raises t where many activations sit just above it.
at::Tensor applyLearnedThreshold(const at::Tensor &x, ProbeState &state, std::size_t site)
{
    const at::Tensor &t = state.learnedThresholds[site];
    const auto xd = x.detach();
    const auto width = t.detach().clamp_min(1e-6);
    const auto hard = xd.gt(t.detach()).to(x.scalar_type());
    const auto soft = ((xd - t) / width + 0.5).clamp(0.0, 1.0);
    const auto mask = hard + (soft - soft.detach());
    const auto softFraction = soft.mean();
    const double weight = site < state.sparsityWeight.size() ? double(state.sparsityWeight[site]) : 1.0;
    state.sparsityTerms.push_back((hard.mean() + (softFraction - softFraction.detach())) * weight);
    return x * mask;
}

bool learnsThreshold(const ProbeState &state, std::size_t site, const at::Tensor &x)
{
    return site < state.learnedThresholds.size() && state.learnedThresholds[site].defined() && at::GradMode::is_enabled() &&
           x.requires_grad();
}

void recordPenalty(const at::Tensor &y, ProbeState &state, int site)
{
    if (!state.regularize || !state.inScope[std::size_t(site)])
        return;
    at::Tensor term;
    if (state.hoyer) {
        // Kurtz et al. 2020: Hoyer-square of the whole output tensor, no band. An in-band variant pushed values above
        // L2^2/L1 up and out of the band, against sparsity (issue #17), and was removed. Divided by the element count,
        // the term is an effective density in (0, 1], so lambda reads like the L1 term's.
        auto l1 = y.abs().sum();
        if (state.hoyerAsParts) {
            const double weight = std::size_t(site) < state.penaltyWeight.size() ? double(state.penaltyWeight[std::size_t(site)]) : 1.0;
            state.hoyerParts.push_back({l1, y.pow(2).sum(), double(y.numel()), weight});
            return;
        }
        term = l1 * l1 / (y.pow(2).sum() + 1e-12) / double(y.numel());
    } else {
        const float band = state.band[std::size_t(site)];
        const auto channelBand = std::size_t(site) < state.channelBand.size()
                                     ? perChannelTensor(state.channelBand[std::size_t(site)], y)
                                     : at::Tensor();
        const auto inBand = channelBand.defined() ? (y > 0).logical_and(y <= channelBand)
                                                  : (band > 0.0f ? (y > 0).logical_and(y <= band) : (y > 0));
        term = (y * inBand.to(y.scalar_type())).abs().sum() / double(y.numel());
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
    if (site < state.cacheOutputs.size() && state.cacheOutputs[site])
        state.cachedOutputs[site] = y.clone(); // a later in-place op of the model may write over y
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
    at::Tensor y = learnsThreshold(*state, s, x) ? applyLearnedThreshold(x, *state, s) : applyThreshold(x, *state, int(site), inPlace);
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

// The scalar threshold a fused probe applies with its ReLU: never below 0, 0 for a site that is not thresholded
// (checked once where thresholds enter the model, clampedThreshold in graph/site.h).
float fusedThreshold(const ProbeState &state, std::size_t site)
{
    return state.thresholds[site];
}

// A ReLU site whose activation the probe itself computes. While statistics are collected (no autograd, a
// scalar threshold) the ReLU, the threshold and the statistics are one pass over the activation instead of
// three; otherwise it is aten::relu followed by the ordinary probe.
at::Tensor probeRelu(const at::Tensor &x, int64_t model, int64_t site)
{
    auto state = probeState(int(model));
    const auto s = std::size_t(site);
    const bool overwrite = state && state->overwritesInput[s] && !x.requires_grad() && scannedAsItIs(x);
    const bool fused = state && state->collectStats && !x.requires_grad() && x.scalar_type() == at::kFloat &&
                       state->channelThresholds[s].empty();
    if (!fused)
        return overwrite ? runProbe(at::relu_(const_cast<at::Tensor &>(x)), model, site, true)
                         : runProbe(at::relu(x), model, site, false);
    recordFirstExecution(*state, s, x);
    const float t = fusedThreshold(*state, s);
    at::Tensor y = thresholdWithStats(x, t, state->stats[s], overwrite);
    keepFeatureMaps(*state, s, y);
    return y;
}

// An inference BatchNorm (plus, optionally, a residual added to its output) whose only reader is a ReLU site: while
// statistics are collected the probe folds them into its pass (one pass instead of two or three,
// bench/bench_capture). aten::batch_norm's CPU kernel computes alpha = w / sqrt(var + eps), beta = b - mean * alpha
// and x * alpha + beta with FMAs; the fold does the same and checks on each site's first batch that it matches the
// unfolded ops bit for bit, else that site keeps them. Training, gradients, per-channel thresholds: the unfolded ops.
struct BatchNormArgs {
    const c10::optional<at::Tensor> &weight, &bias, &runningMean, &runningVar;
    bool training;
    double momentum, eps;
    bool cudnnEnabled;
};

at::Tensor foldedProbe(const at::Tensor &x, const BatchNormArgs &bn, const at::Tensor &residual, const c10::Scalar &alpha,
                       int64_t model, int64_t site)
{
    auto state = probeState(int(model));
    const auto s = std::size_t(site);
    auto unfolded = [&](bool training) {
        auto h = training && state && state->trainingBatchNorm
                     ? state->trainingBatchNorm(x, bn.weight, bn.bias, bn.runningMean, bn.runningVar, bn.momentum, bn.eps)
                     : at::batch_norm(x, bn.weight, bn.bias, bn.runningMean, bn.runningVar, training, bn.momentum, bn.eps, bn.cudnnEnabled);
        if (residual.defined())
            h.add_(residual, alpha);
        return h;
    };
    auto channelVector = [&](const c10::optional<at::Tensor> &t) {
        return t && t->defined() && t->dim() == 1 && t->size(0) == x.size(1) && t->scalar_type() == at::kFloat;
    };
    auto absentOrVector = [&](const c10::optional<at::Tensor> &t) { return !(t && t->defined()) || channelVector(t); };
    const bool foldable =
        foldBatchNorms.load(std::memory_order_relaxed) && state && state->collectStats && !bn.training &&
        state->batchNormFoldExact[s] >= 0 && !at::GradMode::is_enabled() &&
        x.dim() >= 3 && x.scalar_type() == at::kFloat && x.is_contiguous() && x.numel() > x.size(0) * x.size(1) &&
        vectorScanFor(x.numel() / (x.size(0) * x.size(1))) &&
        state->channelThresholds[s].empty() && channelVector(bn.runningMean) && channelVector(bn.runningVar) &&
        absentOrVector(bn.weight) && absentOrVector(bn.bias) &&
        (!residual.defined() || (alpha.equal(1) && residual.scalar_type() == at::kFloat && residual.is_contiguous() &&
                                 residual.sizes() == x.sizes()));
    if (!foldable)
        return probeRelu(unfolded(bn.training), model, site);

    const auto channels = std::size_t(x.size(1));
    const auto mean = bn.runningMean->contiguous(), var = bn.runningVar->contiguous();
    const auto w = bn.weight && bn.weight->defined() ? bn.weight->contiguous() : at::Tensor();
    const auto b = bn.bias && bn.bias->defined() ? bn.bias->contiguous() : at::Tensor();
    std::vector<float> scale(channels), shift(channels);
    for (std::size_t c = 0; c < channels; ++c) {
        const float invstd = 1.0f / std::sqrt(var.data_ptr<float>()[c] + float(bn.eps));
        scale[c] = invstd * (w.defined() ? w.data_ptr<float>()[c] : 1.0f);
        shift[c] = std::fma(-mean.data_ptr<float>()[c], scale[c], b.defined() ? b.data_ptr<float>()[c] : 0.0f);
    }
    recordFirstExecution(*state, s, x);
    const float t = fusedThreshold(*state, s);
    at::Tensor y;
    if (state->batchNormFoldExact[s] == 0) {
        SiteStats folded, reference;
        y = affineThresholdWithStats(x, scale, shift, residual, t, folded);
        const at::Tensor expected = thresholdWithStats(unfolded(false), t, reference, true);
        const bool exact = expected.is_contiguous() &&
                           std::memcmp(y.data_ptr<float>(), expected.data_ptr<float>(), std::size_t(y.numel()) * sizeof(float)) == 0;
        state->batchNormFoldExact[s] = exact ? 1 : -1;
        if (!exact)
            y = expected;
        state->stats[s].merge(exact ? folded : reference);
    } else {
        y = affineThresholdWithStats(x, scale, shift, residual, t, state->stats[s]);
    }
    keepFeatureMaps(*state, s, y);
    return y;
}

at::Tensor probeBatchNormRelu(const at::Tensor &x, const c10::optional<at::Tensor> &weight, const c10::optional<at::Tensor> &bias,
                              const c10::optional<at::Tensor> &runningMean, const c10::optional<at::Tensor> &runningVar,
                              bool training, double momentum, double eps, bool cudnnEnabled, int64_t model, int64_t site)
{
    return foldedProbe(x, {weight, bias, runningMean, runningVar, training, momentum, eps, cudnnEnabled}, at::Tensor(), 1, model, site);
}

at::Tensor probeBatchNormAddRelu(const at::Tensor &x, const c10::optional<at::Tensor> &weight, const c10::optional<at::Tensor> &bias,
                                 const c10::optional<at::Tensor> &runningMean, const c10::optional<at::Tensor> &runningVar,
                                 bool training, double momentum, double eps, bool cudnnEnabled, const at::Tensor &residual,
                                 const c10::Scalar &alpha, int64_t model, int64_t site)
{
    return foldedProbe(x, {weight, bias, runningMean, runningVar, training, momentum, eps, cudnnEnabled}, residual, alpha, model, site);
}

// Whether a probe that folds the op before it (probe_add_relu, probe_clamp) runs its one pass: statistics are
// collected, no gradient, a float map the kernels read as it is, the site's scalar threshold.
bool foldsWhileCapturing(const ProbeState *state, std::size_t site, const at::Tensor &x)
{
    return state && state->collectStats && !at::GradMode::is_enabled() && !x.requires_grad() && x.dim() >= 2 &&
           x.scalar_type() == at::kFloat && scannedAsItIs(x) && state->channelThresholds[site].empty();
}

// A residual add whose only reader is a ReLU site, in the inference copy (foldResidualsIntoProbes): while statistics
// are collected the add rides on the probe's pass; otherwise aten::add, then the ReLU site's probe.
at::Tensor probeAddRelu(const at::Tensor &x, const at::Tensor &residual, const c10::Scalar &alpha, bool overwrite, int64_t model,
                        int64_t site)
{
    auto state = probeState(int(model));
    const auto s = std::size_t(site);
    const bool fused = foldsWhileCapturing(state.get(), s, x) && !residual.requires_grad() && alpha.equal(1) &&
                       residual.scalar_type() == at::kFloat && x.sizes() == residual.sizes() &&
                       x.strides() == residual.strides();
    if (!fused)
        return probeRelu(at::add(x, residual, alpha), model, site);
    recordFirstExecution(*state, s, x);
    at::Tensor y = addThresholdWithStats(x, residual, fusedThreshold(*state, s), state->stats[s], overwrite && !x.is_same(residual));
    keepFeatureMaps(*state, s, y);
    return y;
}

// A ReLU6 (hardtanh from 0) whose only reader is its site's probe, in the inference copy (foldClampsIntoProbes): while
// statistics are collected the clamp rides on the probe's pass; otherwise aten::hardtanh, then the probe.
at::Tensor probeClamp(const at::Tensor &x, const c10::Scalar &lower, const c10::Scalar &upper, bool overwrite, int64_t model,
                      int64_t site)
{
    auto state = probeState(int(model));
    const auto s = std::size_t(site);
    const bool fused = foldsWhileCapturing(state.get(), s, x) && lower.toDouble() == 0.0 && upper.toDouble() >= 0.0;
    if (!fused)
        return runProbe(at::hardtanh(x, lower, upper), model, site, false);
    recordFirstExecution(*state, s, x);
    at::Tensor y = clampThresholdWithStats(x, 0.0f, upper.toFloat(), fusedThreshold(*state, s), state->stats[s], overwrite);
    keepFeatureMaps(*state, s, y);
    return y;
}

// An aten::batch_norm outside any probe (routeBatchNorms): itself, or the synchronised one while a group trains.
at::Tensor batchNorm(const at::Tensor &x, const c10::optional<at::Tensor> &weight, const c10::optional<at::Tensor> &bias,
                     const c10::optional<at::Tensor> &runningMean, const c10::optional<at::Tensor> &runningVar, bool training,
                     double momentum, double eps, bool cudnnEnabled, int64_t model)
{
    if (training) {
        auto state = probeState(int(model));
        if (state && state->trainingBatchNorm)
            return state->trainingBatchNorm(x, weight, bias, runningMean, runningVar, momentum, eps);
    }
    return at::batch_norm(x, weight, bias, runningMean, runningVar, training, momentum, eps, cudnnEnabled);
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

namespace sparsity {

void setBatchNormFolding(bool enabled)
{
    detail::foldBatchNorms = enabled;
}

bool batchNormFolding()
{
    return detail::foldBatchNorms.load();
}

} // namespace sparsity

TORCH_LIBRARY(sparsity, m)
{
    m.def("probe(Tensor x, int model, int site) -> Tensor");
    m.def("probe_(Tensor(a!) x, int model, int site) -> Tensor(a!)");
    m.def("probe_relu(Tensor x, int model, int site) -> Tensor");
    m.def("probe_bn_relu(Tensor x, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, bool training, "
          "float momentum, float eps, bool cudnn_enabled, int model, int site) -> Tensor");
    m.def("probe_bn_add_relu(Tensor x, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, bool training, "
          "float momentum, float eps, bool cudnn_enabled, Tensor residual, Scalar alpha, int model, int site) -> Tensor");
    m.def("probe_add_relu(Tensor x, Tensor residual, Scalar alpha, bool overwrite, int model, int site) -> Tensor");
    m.def("probe_clamp(Tensor x, Scalar lower, Scalar upper, bool overwrite, int model, int site) -> Tensor");
    m.def("batch_norm(Tensor x, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, bool training, "
          "float momentum, float eps, bool cudnn_enabled, int model) -> Tensor");
}

TORCH_LIBRARY_IMPL(sparsity, CompositeImplicitAutograd, m)
{
    m.impl("probe", &sparsity::detail::probe);
    m.impl("probe_", &sparsity::detail::probeInPlace);
    m.impl("probe_relu", &sparsity::detail::probeRelu);
    m.impl("probe_bn_relu", &sparsity::detail::probeBatchNormRelu);
    m.impl("probe_bn_add_relu", &sparsity::detail::probeBatchNormAddRelu);
    m.impl("probe_add_relu", &sparsity::detail::probeAddRelu);
    m.impl("probe_clamp", &sparsity::detail::probeClamp);
    m.impl("batch_norm", &sparsity::detail::batchNorm);
}
