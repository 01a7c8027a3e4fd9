#include "probes_p.h"

#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace sparsity::detail {

namespace {

std::mutex registryMutex;
std::unordered_map<int, std::shared_ptr<ProbeState>> registry;
int nextId = 1;

// Histogram counters are kept in kLanes interleaved copies: about half of a ReLU output is exactly zero, and
// incrementing one counter for every element would serialise the loop on a single memory location.
constexpr int kLanes = 16;
constexpr int kZeroBin = LogHistogram::kBinCount;
constexpr int kNegativeBin = LogHistogram::kBinCount + 1;
constexpr int kLaneStride = LogHistogram::kBinCount + 2;

struct LocalStats {
    double sum = 0.0;
    float min = INFINITY, max = -INFINITY;
    std::vector<std::int64_t> bins; // kLanes x kLaneStride
    std::vector<std::int64_t> channel, spatial;
};

// Arithmetic instead of branches: with half the values exactly zero in no predictable order, a branch here
// would be mispredicted every other element.
inline int binIndex(float v)
{
    const int isPositive = v > 0.0f;
    const int isZero = v == 0.0f;
    return isPositive * LogHistogram::binOf(v) + isZero * kZeroBin + (1 - isPositive - isZero) * kNegativeBin;
}

// One pass over the planes [begin, end) of an N x C x P tensor: zeros, histogram, per-channel and
// per-position nonzero counts, with no data-dependent branches.
void scanPlanes(const float *data, std::int64_t channels, std::int64_t planeSize, std::int64_t begin, std::int64_t end,
                LocalStats &s)
{
    std::int64_t *bins = s.bins.data();
    std::int64_t *spatial = s.spatial.data();
    for (std::int64_t plane = begin; plane < end; ++plane) {
        const float *p = data + plane * planeSize;
        std::int64_t planeNonzero = 0;
        float planeSum = 0.0f, lo = INFINITY, hi = -INFINITY;
        // Element-wise counts, four independent accumulator chains (a single float sum would wait on the
        // previous addition for every element).
        float sums[4] = {0, 0, 0, 0}, los[4] = {INFINITY, INFINITY, INFINITY, INFINITY}, his[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
        std::int64_t counts[4] = {0, 0, 0, 0};
        std::int64_t j = 0;
        for (; j + 4 <= planeSize; j += 4)
            for (int k = 0; k < 4; ++k) {
                const float v = p[j + k];
                const std::int64_t nonzero = v != 0.0f;
                spatial[j + k] += nonzero;
                counts[k] += nonzero;
                sums[k] += v;
                los[k] = std::min(los[k], v);
                his[k] = std::max(his[k], v);
            }
        for (; j < planeSize; ++j) {
            const float v = p[j];
            const std::int64_t nonzero = v != 0.0f;
            spatial[j] += nonzero;
            counts[0] += nonzero;
            sums[0] += v;
            los[0] = std::min(los[0], v);
            his[0] = std::max(his[0], v);
        }
        for (int k = 0; k < 4; ++k) {
            planeNonzero += counts[k];
            planeSum += sums[k];
            lo = std::min(lo, los[k]);
            hi = std::max(hi, his[k]);
        }
        std::int64_t i = 0;
        for (; i + kLanes <= planeSize; i += kLanes) {
            // Bins first, then the increments: the loads of one group do not wait on its own stores.
            int index[kLanes];
            for (int lane = 0; lane < kLanes; ++lane)
                index[lane] = lane * kLaneStride + binIndex(p[i + lane]);
            for (int lane = 0; lane < kLanes; ++lane)
                ++bins[index[lane]];
        }
        for (; i < planeSize; ++i)
            ++bins[binIndex(p[i])];
        s.channel[std::size_t(plane % channels)] += planeNonzero;
        s.sum += double(planeSum);
        s.min = std::min(s.min, lo);
        s.max = std::max(s.max, hi);
    }
}

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

void accumulateStats(const at::Tensor &output, SiteStats &stats)
{
    auto t = output.detach();
    if (t.scalar_type() != at::kFloat)
        t = t.to(at::kFloat);
    t = t.contiguous();
    if (t.dim() == 0)
        t = t.reshape({1, 1});
    const std::int64_t n = t.size(0);
    const std::int64_t channels = t.dim() >= 2 ? t.size(1) : 1;
    const std::int64_t planeSize = t.dim() >= 2 ? t.numel() / std::max<std::int64_t>(1, n * channels) : 1;
    const std::int64_t planes = t.numel() / std::max<std::int64_t>(1, planeSize);
    const float *data = t.data_ptr<float>();

    std::mutex mergeMutex;
    LocalStats total;
    total.bins.assign(kLaneStride, 0);
    total.channel.assign(std::size_t(channels), 0);
    total.spatial.assign(std::size_t(planeSize), 0);
    const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, planeSize));
    at::parallel_for(0, planes, grain, [&](std::int64_t begin, std::int64_t end) {
        LocalStats local;
        local.bins.assign(std::size_t(kLanes * kLaneStride), 0);
        local.channel.assign(std::size_t(channels), 0);
        local.spatial.assign(std::size_t(planeSize), 0);
        scanPlanes(data, channels, planeSize, begin, end, local);
        std::lock_guard<std::mutex> lock(mergeMutex);
        total.sum += local.sum;
        total.min = std::min(total.min, local.min);
        total.max = std::max(total.max, local.max);
        for (std::size_t i = 0; i < local.bins.size(); ++i)
            total.bins[i % std::size_t(kLaneStride)] += local.bins[i];
        for (std::size_t i = 0; i < total.channel.size(); ++i)
            total.channel[i] += local.channel[i];
        for (std::size_t i = 0; i < total.spatial.size(); ++i)
            total.spatial[i] += local.spatial[i];
    });

    stats.elements += t.numel();
    stats.zeros += total.bins[kZeroBin];
    stats.negatives += total.bins[kNegativeBin];
    stats.images += n;
    stats.sum += total.sum;
    stats.min = std::min(stats.min, total.min);
    stats.max = std::max(stats.max, total.max);
    for (int b = 0; b < LogHistogram::kBinCount; ++b)
        stats.positive.addToBin(b, total.bins[std::size_t(b)]);
    if (stats.channelNonzero.size() < total.channel.size())
        stats.channelNonzero.resize(total.channel.size(), 0);
    for (std::size_t c = 0; c < total.channel.size(); ++c)
        stats.channelNonzero[c] += total.channel[c];
    if (t.dim() == 4) {
        if (stats.spatialNonzero.size() < total.spatial.size())
            stats.spatialNonzero.resize(total.spatial.size(), 0);
        for (std::size_t i = 0; i < total.spatial.size(); ++i)
            stats.spatialNonzero[i] += total.spatial[i];
    }
}

namespace {

at::Tensor applyThreshold(const at::Tensor &x, ProbeState &state, int site, bool inPlace)
{
    if (!state.thresholdable[std::size_t(site)])
        return x;
    const auto &perChannel = state.channelThresholds[std::size_t(site)];
    if (!perChannel.empty() && x.dim() >= 2 && x.size(1) == std::int64_t(perChannel.size())) {
        std::vector<std::int64_t> shape(std::size_t(x.dim()), 1);
        shape[1] = x.size(1);
        auto t = torch::tensor(perChannel, x.options()).view(shape);
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
    auto inBand = band > 0.0f ? (y > 0).logical_and(y <= band) : (y > 0);
    auto selected = y * inBand.to(y.scalar_type());
    at::Tensor term;
    if (state.hoyer) {
        auto l1 = selected.abs().sum();
        term = l1 * l1 / (selected.pow(2).sum() + 1e-12) / double(y.numel());
    } else {
        term = selected.abs().sum() / double(y.numel());
    }
    state.penaltyTerms.push_back(term);
}

at::Tensor runProbe(const at::Tensor &x, int64_t model, int64_t site, bool inPlace)
{
    auto state = probeState(int(model));
    if (!state)
        return x; // a probe of a model that was closed: behave as the identity
    const auto s = std::size_t(site);
    if (state->shapes[s].empty() && x.dim() >= 1) {
        std::lock_guard<std::mutex> lock(state->mutex);
        state->shapes[s] = std::vector<std::int64_t>(x.sizes().begin() + 1, x.sizes().end());
        state->executionOrder[s] = state->executedCount++;
    }
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
        if (!state->keepBatchPositions.empty()) {
            auto positions = torch::tensor(std::vector<int64_t>(state->keepBatchPositions.begin(), state->keepBatchPositions.end()));
            state->keptMaps[s].push_back(y.index_select(0, positions).clone());
        }
    }
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
}

TORCH_LIBRARY_IMPL(sparsity, CompositeImplicitAutograd, m)
{
    m.impl("probe", &sparsity::detail::probe);
    m.impl("probe_", &sparsity::detail::probeInPlace);
}
