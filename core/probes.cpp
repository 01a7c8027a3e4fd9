#include "probes_p.h"

#include "threads.h"

#include <ATen/Parallel.h>
#include <torch/library.h>
#include <torch/torch.h>

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
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
    std::vector<int> binScratch; // one plane's bin indices
    std::vector<int> compressed; // the bin indices of its nonzero elements
};

bool cpuHasAvx512()
{
    __builtin_cpu_init(); // this runs during static initialisation, possibly before libgcc's own constructor
    return __builtin_cpu_supports("avx512f") != 0;
}

std::atomic<bool> compressedScan{cpuHasAvx512()};

// The bin indices of the nonzero elements of p, packed to the front of `out` (which has room for n + 16).
__attribute__((target("avx512f"))) int keepNonzero(const float *p, const int *index, int n, int *out)
{
    int kept = 0, k = 0;
    const __m512 zero = _mm512_setzero_ps();
    for (; k + 16 <= n; k += 16) {
        // NaN counts as nonzero, as `v != 0.0f` does in the counting loop.
        const __mmask16 keep = _mm512_cmp_ps_mask(_mm512_loadu_ps(p + k), zero, _CMP_NEQ_UQ);
        // Compress in a register and store all 16 lanes: much faster than a masked compress-store.
        _mm512_storeu_si512(out + kept, _mm512_maskz_compress_epi32(keep, _mm512_loadu_si512(index + k)));
        kept += __builtin_popcount(keep);
    }
    for (; k < n; ++k) {
        out[kept] = index[k];
        kept += p[k] != 0.0f;
    }
    return kept;
}

// From the float's bits, in integer selects only, so the loop over a plane vectorises: positive values get
// their LogHistogram bin, zeros (+0 and -0) and negatives one extra bin each.
inline int binIndexOfBits(std::uint32_t bits)
{
    const int key = int(bits >> 20) - LogHistogram::firstKey() + 1;
    const int clamped = key < 0 ? 0 : (key > LogHistogram::kBinCount - 1 ? LogHistogram::kBinCount - 1 : key);
    // +NaN has positive-looking bits: it is counted with the negatives ("not a positive value"), as before.
    const bool positive = int(bits) > 0 && bits <= 0x7f800000u;
    return positive ? clamped : ((bits << 1) == 0 ? kZeroBin : kNegativeBin);
}

// One pass over the planes [begin, end) of an N x C x P tensor: zeros, histogram, per-channel and per-position
// nonzero counts, sum, min and max in one vectorised loop with no data-dependent branches, then the histogram
// counters from the bin indices that loop stored.
// Compiled for AVX-512, AVX2 and the baseline; the loader picks the widest the CPU has: this pass runs over every
// activation element and has to stay a small fraction of a convolution's cost (bench/bench_capture).
__attribute__((target_clones("avx512f", "avx2", "default"))) void scanPlanes(const float *data, std::int64_t channels,
                                                                                std::int64_t planeSize, std::int64_t begin,
                                                                                std::int64_t end, LocalStats &s)
{
    std::int64_t *__restrict bins = s.bins.data();
    std::int64_t *__restrict spatial = s.spatial.data();
    s.binScratch.resize(std::size_t(planeSize));
    const bool compress = compressedScan.load(std::memory_order_relaxed);
    if (compress)
        s.compressed.resize(std::size_t(planeSize) + 16);
    int *__restrict index = s.binScratch.data();
    const int n = int(planeSize);
    for (std::int64_t plane = begin; plane < end; ++plane) {
        const float *__restrict p = data + plane * planeSize;
        int nonzero = 0;
        float sum = 0.0f, lo = INFINITY, hi = -INFINITY;
#pragma omp simd reduction(+ : nonzero, sum) reduction(min : lo) reduction(max : hi)
        for (int k = 0; k < n; ++k) {
            const float v = p[k];
            const int isNonzero = v != 0.0f;
            spatial[k] += isNonzero;
            nonzero += isNonzero;
            sum += v;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            std::uint32_t bits;
            std::memcpy(&bits, p + k, sizeof bits);
            index[k] = (k & (kLanes - 1)) * kLaneStride + binIndexOfBits(bits);
        }
        if (compress) {
            const int kept = keepNonzero(p, index, n, s.compressed.data());
            const int *__restrict binned = s.compressed.data();
            for (int k = 0; k < kept; ++k)
                ++bins[binned[k]];
            bins[kZeroBin] += n - nonzero;
        } else {
            for (int k = 0; k < n; ++k)
                ++bins[index[k]];
        }
        s.channel[std::size_t(plane % channels)] += nonzero;
        s.sum += double(sum);
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

namespace sparsity {

bool compressedStatisticsAvailable()
{
    return detail::cpuHasAvx512();
}

void setCompressedStatistics(bool enabled)
{
    detail::compressedScan = enabled && compressedStatisticsAvailable();
}

} // namespace sparsity

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
