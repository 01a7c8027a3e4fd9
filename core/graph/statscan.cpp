// The statistics a probe accumulates over every activation element it sees: this pass must stay a small
// fraction of the forward pass it rides on (bench/bench_capture), so it has a hand-vectorised AVX-512 kernel
// and a portable one that the compiler vectorises. Both give identical statistics (tst_capture checks both
// against a brute-force count).
#include "graph/probes_p.h"

#include "threads.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

// GCC 12 warns inside its own AVX-512 headers (_mm512_undefined_* as the pass-through of maskz intrinsics).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

namespace sparsity::detail {

namespace {

// Histogram counters are kept in kLanes interleaved copies: incrementing one counter for many elements in a
// row would serialise the loop on a single memory location.
constexpr int kLanes = 16;
constexpr int kZeroBin = LogHistogram::kBinCount;
constexpr int kNegativeBin = LogHistogram::kBinCount + 1;
constexpr int kLaneStride = LogHistogram::kBinCount + 2;

// Lane counters are 32-bit (half the cache of 64-bit ones); a kernel call covers at most kMaxChunkElements, so
// no counter can overflow before the lanes are folded into 64-bit totals.
constexpr std::int64_t kMaxChunkElements = std::int64_t(1) << 28;

// y = x * alpha[c] + beta[c] (one rounding, as an FMA), then + residual when given (same layout as x), before the
// threshold: an inference BatchNorm (and a residual add) folded into the pass.
struct Affine {
    const float *alpha;
    const float *beta;
    const float *residual = nullptr;
    bool identity = false; // alpha 1 and beta 0 everywhere (x * 1 + 0 is x exactly): a residual add alone
    // Instead of the affine: y = clamp(x, lower, upper), NaN kept (aten::hardtanh, ReLU6 with lower 0 and upper 6).
    bool clamp = false;
    float lower = 0.0f, upper = 0.0f;
};

// What a vector pass does to its input before the threshold.
enum Fold { kNoFold, kAffineFold, kResidualFold, kClampFold };

struct LocalStats {
    double sum = 0.0;
    float min = INFINITY, max = -INFINITY;
    std::vector<std::uint32_t> bins;   // kLanes x kLaneStride
    std::vector<std::int64_t> channel; // nonzero count per channel
    std::vector<std::int64_t> spatial; // nonzero count per position in a plane
    std::vector<int> scratch;          // bin indices waiting to be counted
};

bool cpuHasAvx512()
{
    __builtin_cpu_init(); // this runs during static initialisation, possibly before libgcc's own constructor
    return __builtin_cpu_supports("avx512f") != 0;
}

std::atomic<bool> avx512Scan{cpuHasAvx512()};

// From the float's bits, in integer selects only, so the loop over a plane vectorises: positive values get
// their LogHistogram bin, zeros (+0 and -0) and negatives one extra bin each.
inline int binIndexOfBits(std::uint32_t bits)
{
    const int key = int(bits >> 20) - LogHistogram::firstKey() + 1;
    const int clamped = key < 0 ? 0 : (key > LogHistogram::kBinCount - 1 ? LogHistogram::kBinCount - 1 : key);
    // +NaN has positive-looking bits: it is counted with the negatives ("not a positive value").
    const bool positive = int(bits) > 0 && bits <= 0x7f800000u;
    return positive ? clamped : ((bits << 1) == 0 ? kZeroBin : kNegativeBin);
}

// Portable pass over the planes [begin, end) of an N x C x P tensor: one vectorised loop with no data-dependent
// branches computes every statistic and stores each element's bin index, a second loop counts them.
// With `out`, the pass first thresholds (y = x <= t ? 0 : x, as aten::threshold; NaN stays) into out and
// takes the statistics of y.
__attribute__((target_clones("avx2", "default"))) void scanPlanesPortable(const float *data, float *out, float threshold,
                                                                         const Affine *affine, std::int64_t channels,
                                                                         std::int64_t planeSize, std::int64_t begin,
                                                                         std::int64_t end, LocalStats &s)
{
    std::uint32_t *__restrict bins = s.bins.data();
    std::int64_t *__restrict spatial = s.spatial.data();
    s.scratch.resize(std::size_t(planeSize));
    int *__restrict index = s.scratch.data();
    const int n = int(planeSize);
    for (std::int64_t plane = begin; plane < end; ++plane) {
        const float *in = data + plane * planeSize;
        if (out) {
            float *y = out + plane * planeSize; // may be `in` itself (overwriting thresholdWithStats)
            if (affine && affine->clamp) {
                const float lo = affine->lower, hi = affine->upper;
#pragma omp simd
                for (int k = 0; k < n; ++k) {
                    float h = in[k] < lo ? lo : in[k]; // compares that keep a NaN, as aten's clamp does
                    h = h > hi ? hi : h;
                    y[k] = h <= threshold ? 0.0f : h;
                }
            } else if (affine) {
                const float a = affine->alpha[plane % channels], b = affine->beta[plane % channels];
                const float *r = affine->residual ? affine->residual + plane * planeSize : nullptr;
#pragma omp simd
                for (int k = 0; k < n; ++k) {
                    float h = std::fma(in[k], a, b);
                    if (r)
                        h += r[k];
                    y[k] = h <= threshold ? 0.0f : h;
                }
            } else {
#pragma omp simd
                for (int k = 0; k < n; ++k)
                    y[k] = in[k] <= threshold ? 0.0f : in[k];
            }
            in = y;
        }
        const float *__restrict p = in;
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
        for (int k = 0; k < n; ++k)
            ++bins[index[k]];
        s.channel[std::size_t(plane % channels)] += nonzero;
        s.sum += double(sum);
        s.min = std::min(s.min, lo);
        s.max = std::max(s.max, hi);
    }
}

struct VectorConstants {
    __m512 zero, limit;
    __m512i keyBias, lastBin, minusOne, laneBase;
    __attribute__((target("avx512f"))) explicit VectorConstants(float threshold)
        : zero(_mm512_setzero_ps()), limit(_mm512_set1_ps(threshold)), keyBias(_mm512_set1_epi32(LogHistogram::firstKey() - 1)),
          lastBin(_mm512_set1_epi32(LogHistogram::kBinCount - 1)), minusOne(_mm512_set1_epi32(-1)),
          laneBase(_mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                      _mm512_set1_epi32(kLaneStride)))
    {
    }
};

// One vector of a plane at offset k (`valid`: all lanes but in a plane's tail). Appends the lane-tagged bins of
// its positive elements to kept[pending...].
template <bool Threshold, Fold F>
__attribute__((target("avx512f,popcnt"), always_inline)) inline void
scanVector(const float *p, const float *r, float *y, int k, __mmask16 valid, const VectorConstants &c, __m512 alpha, __m512 beta,
           __m512 &planeSum, __m512 &lo, __m512 &hi, std::uint32_t *spatial, int *kept, int &pending, int &nonzero)
{
    __m512 v = _mm512_maskz_loadu_ps(valid, p + k); // invalid lanes read as 0
    if constexpr (F == kAffineFold || F == kResidualFold)
        v = _mm512_maskz_fmadd_ps(valid, v, alpha, beta); // and stay 0
    if constexpr (F == kClampFold) // alpha, beta: the bounds; min/max return their second operand, v, when it is NaN
        v = _mm512_maskz_mov_ps(valid, _mm512_min_ps(beta, _mm512_max_ps(alpha, v)));
    if constexpr (F == kResidualFold)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(valid, r + k));
    __mmask16 isNonzero;
    if constexpr (Threshold) {
        // Not (x <= t), unordered: x > t or NaN is kept, as aten::threshold does. With t >= 0 (the only
        // thresholds the probes use) what is kept is exactly what is nonzero, and invalid lanes (0) are not kept.
        isNonzero = _mm512_cmp_ps_mask(v, c.limit, _CMP_NLE_UQ);
        v = _mm512_maskz_mov_ps(isNonzero, v);
        _mm512_mask_storeu_ps(y + k, valid, v);
    } else {
        isNonzero = _mm512_mask_cmp_ps_mask(valid, v, c.zero, _CMP_NEQ_UQ);
    }
    // NaN counts as nonzero (unordered compare) but not as positive (ordered), as in the portable pass.
    const __mmask16 isPositive = _mm512_mask_cmp_ps_mask(valid, v, c.zero, _CMP_GT_OQ);
    planeSum = _mm512_add_ps(planeSum, v);
    lo = _mm512_mask_min_ps(lo, valid, v, lo); // a NaN element keeps the old value, as std::min does
    hi = _mm512_mask_max_ps(hi, valid, v, hi);
    const __m512i counts = _mm512_loadu_si512(spatial + k);
    _mm512_storeu_si512(spatial + k, _mm512_mask_sub_epi32(counts, isNonzero, counts, c.minusOne));
    __m512i key = _mm512_sub_epi32(_mm512_srli_epi32(_mm512_castps_si512(v), 20), c.keyBias);
    key = _mm512_min_epi32(_mm512_max_epi32(key, _mm512_setzero_si512()), c.lastBin);
    // Compress in a register and store all 16 lanes: much faster than a masked compress-store.
    _mm512_storeu_si512(kept + pending, _mm512_maskz_compress_epi32(isPositive, _mm512_add_epi32(key, c.laneBase)));
    nonzero += __builtin_popcount(isNonzero);
    pending += __builtin_popcount(isPositive);
}

// AVX-512 pass: one loop reads each element once. Only the positive elements reach the scalar counter
// increments (compressed in a register); zeros and negatives are counted with mask popcounts. Sum, min and max
// stay in vector registers across planes, so a small plane (7x7) pays no horizontal reduction. With Threshold,
// `threshold` must be >= 0; a fold needs Threshold.
template <bool Threshold, Fold F>
__attribute__((target("avx512f,popcnt"))) void scanPlanesAvx512(const float *data, float *out, float threshold,
                                                                 const Affine *affine, std::int64_t channels,
                                                                 std::int64_t planeSize, std::int64_t begin, std::int64_t end,
                                                                 LocalStats &s)
{
    static_assert(Threshold || F == kNoFold);
    const int n = int(planeSize);
    const int full = n & ~15;
    const __mmask16 tailMask = __mmask16((1u << (n - full)) - 1u);
    // Per-position counts of this chunk (at most one per plane: uint32 is plenty), padded because the tail loads a
    // whole vector.
    std::vector<std::uint32_t> spatialCounts(std::size_t(full + 16), 0u);
    // The bins of positive elements wait here across planes and are counted in one loop per kFlushAt of them:
    // a small plane (7x7: ~25 positives) would otherwise pay a loop exit per plane.
    constexpr int kFlushAt = 2048;
    s.scratch.resize(std::size_t(kFlushAt + n) + 16);
    std::uint32_t *__restrict spatial = spatialCounts.data();
    int *__restrict kept = s.scratch.data();
    std::uint32_t *__restrict bins = s.bins.data();

    const VectorConstants c(threshold);
    __m512 lo = _mm512_set1_ps(INFINITY), hi = _mm512_set1_ps(-INFINITY);
    __m512d sum = _mm512_setzero_pd();
    std::int64_t nonzeroTotal = 0, positiveTotal = 0;
    std::int64_t channel = begin % channels;
    int pending = 0; // entries of `kept` not yet counted

    for (std::int64_t plane = begin; plane < end; ++plane) {
        const float *p = data + plane * planeSize;
        const float *r = F == kResidualFold ? affine->residual + plane * planeSize : nullptr;
        float *y = Threshold ? out + plane * planeSize : nullptr;
        __m512 alpha = c.zero, beta = c.zero;
        if constexpr (F == kClampFold) {
            alpha = _mm512_set1_ps(affine->lower);
            beta = _mm512_set1_ps(affine->upper);
        } else if constexpr (F != kNoFold) {
            alpha = _mm512_set1_ps(affine->alpha[channel]);
            beta = _mm512_set1_ps(affine->beta[channel]);
        }
        __m512 planeSum = _mm512_setzero_ps();
        int nonzero = 0;
        const int firstPending = pending;
        for (int k = 0; k < full; k += 16)
            scanVector<Threshold, F>(p, r, y, k, __mmask16(0xffff), c, alpha, beta, planeSum, lo, hi, spatial, kept, pending, nonzero);
        if (full < n)
            scanVector<Threshold, F>(p, r, y, full, tailMask, c, alpha, beta, planeSum, lo, hi, spatial, kept, pending, nonzero);
        s.channel[std::size_t(channel)] += nonzero;
        if (++channel == channels)
            channel = 0;
        nonzeroTotal += nonzero;
        positiveTotal += pending - firstPending;
        if (pending >= kFlushAt || plane + 1 == end) {
            for (int k = 0; k < pending; ++k)
                ++bins[kept[k]];
            pending = 0;
        }
        // Per plane into double: a float sum over a whole chunk would lose precision.
        sum = _mm512_add_pd(sum, _mm512_cvtps_pd(_mm512_castps512_ps256(planeSum)));
        sum = _mm512_add_pd(sum, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(planeSum), 1))));
    }
    const std::int64_t elements = (end - begin) * planeSize;
    bins[kZeroBin] += std::uint32_t(elements - nonzeroTotal);
    bins[kNegativeBin] += std::uint32_t(nonzeroTotal - positiveTotal);
    for (int k = 0; k < n; ++k)
        s.spatial[std::size_t(k)] += spatial[k];
    s.sum += _mm512_reduce_add_pd(sum);
    s.min = std::min(s.min, _mm512_reduce_min_ps(lo));
    s.max = std::max(s.max, _mm512_reduce_max_ps(hi));
}

// A 4-D tensor laid out channels-last and not also contiguous (what the inference copy's convolutions produce):
// its memory is N x H x W rows of C values.
bool channelsLastOnly(const at::Tensor &t)
{
    return t.dim() == 4 && !t.is_contiguous() && t.is_contiguous(at::MemoryFormat::ChannelsLast);
}

// How the kernels walk a tensor: `planes` planes of `planeSize` elements, plane p belonging to "channel"
// p % channels.
struct ScanShape {
    std::int64_t planeSize, channels, planes;
    bool rows, channelsLast;
};

ScanShape scanShape(const at::Tensor &t)
{
    const std::int64_t n = t.size(0);
    const std::int64_t channels = t.dim() >= 2 ? t.size(1) : 1;
    const std::int64_t planeSize = t.dim() >= 2 ? t.numel() / std::max<std::int64_t>(1, n * channels) : 1;
    // A classifier's N x C features (planes of one element) are scanned as one row per image, so every vector
    // lane has work: the per-position counts of a row are then the per-channel counts. A channels-last map is
    // scanned the same way, one row per position, its H x W positions taking the place of the channels: the
    // kernels' per-channel counts are then the per-position ones and the reverse.
    ScanShape shape;
    shape.channelsLast = channelsLastOnly(t);
    shape.rows = shape.channelsLast || (planeSize == 1 && channels > 1);
    shape.planeSize = shape.rows ? channels : planeSize;
    shape.channels = shape.channelsLast ? planeSize : (shape.rows ? 1 : channels);
    shape.planes = t.numel() / std::max<std::int64_t>(1, shape.planeSize);
    return shape;
}

// The statistics of a float tensor, contiguous or channels-last (or, with `out`, of threshold(t) written to out in
// the same layout) merged into stats. A folded affine has one value per ScanShape channel.
void scanTensor(const at::Tensor &t, float *out, float threshold, SiteStats &stats, const Affine *affine = nullptr)
{
    const std::int64_t n = t.size(0);
    const auto shape = scanShape(t);
    const bool channelsLast = shape.channelsLast, rows = shape.rows;
    TORCH_CHECK(!(channelsLast && affine && !affine->identity && !affine->clamp), "scanTensor: a folded affine needs a contiguous tensor");
    const std::int64_t scanPlaneSize = shape.planeSize;
    const std::int64_t scanChannels = shape.channels;
    const std::int64_t planes = shape.planes;
    const float *data = t.data_ptr<float>();
    // Planes smaller than one vector would leave most lanes idle.
    // The vector kernel thresholds only at t >= 0 (every probe's threshold is).
    const bool vectorKernel = vectorScanFor(scanPlaneSize) && !(out && !(threshold >= 0.0f));

    std::mutex mergeMutex;
    double sum = 0.0;
    float lo = INFINITY, hi = -INFINITY;
    std::vector<std::int64_t> bins(kLaneStride, 0), channel(std::size_t(scanChannels), 0), spatial(std::size_t(scanPlaneSize), 0);
    const std::int64_t grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, scanPlaneSize));
    const std::int64_t chunkPlanes = std::max<std::int64_t>(1, kMaxChunkElements / std::max<std::int64_t>(1, scanPlaneSize));
    at::parallel_for(0, planes, grain, [&](std::int64_t begin, std::int64_t end) {
        // Reused by each pool thread across calls (every call would otherwise allocate and clear its lanes); the fold
        // below leaves them zero again.
        thread_local LocalStats local;
        if (local.bins.size() != std::size_t(kLanes * kLaneStride))
            local.bins.assign(std::size_t(kLanes * kLaneStride), 0u);
        local.sum = 0.0;
        local.min = INFINITY;
        local.max = -INFINITY;
        local.channel.assign(std::size_t(scanChannels), 0);
        local.spatial.assign(std::size_t(scanPlaneSize), 0);
        std::int64_t folded[kLaneStride] = {};
        for (std::int64_t from = begin; from < end; from += chunkPlanes) {
            const std::int64_t to = std::min(end, from + chunkPlanes);
            if (vectorKernel && affine && affine->clamp)
                scanPlanesAvx512<true, kClampFold>(data, out, threshold, affine, scanChannels, scanPlaneSize, from, to, local);
            else if (vectorKernel && affine && affine->residual)
                scanPlanesAvx512<true, kResidualFold>(data, out, threshold, affine, scanChannels, scanPlaneSize, from, to, local);
            else if (vectorKernel && affine)
                scanPlanesAvx512<true, kAffineFold>(data, out, threshold, affine, scanChannels, scanPlaneSize, from, to, local);
            else if (vectorKernel && out)
                scanPlanesAvx512<true, kNoFold>(data, out, threshold, nullptr, scanChannels, scanPlaneSize, from, to, local);
            else if (vectorKernel)
                scanPlanesAvx512<false, kNoFold>(data, nullptr, threshold, nullptr, scanChannels, scanPlaneSize, from, to, local);
            else
                scanPlanesPortable(data, out, threshold, affine, scanChannels, scanPlaneSize, from, to, local);
            // Fold the lanes before taking the lock: the other thread waits while this one merges.
            for (int lane = 0; lane < kLanes; ++lane)
                for (int b = 0; b < kLaneStride; ++b) {
                    folded[b] += local.bins[std::size_t(lane * kLaneStride + b)];
                    local.bins[std::size_t(lane * kLaneStride + b)] = 0u;
                }
        }
        std::lock_guard<std::mutex> lock(mergeMutex);
        sum += local.sum;
        lo = std::min(lo, local.min);
        hi = std::max(hi, local.max);
        for (int b = 0; b < kLaneStride; ++b)
            bins[std::size_t(b)] += folded[b];
        for (std::size_t i = 0; i < channel.size(); ++i)
            channel[i] += local.channel[i];
        for (std::size_t i = 0; i < spatial.size(); ++i)
            spatial[i] += local.spatial[i];
    });
    if (channelsLast) {
        std::swap(channel, spatial);
    } else if (rows) {
        // A row's positions are the channels; an N x C x 1 x 1 map still has a single spatial position.
        channel = spatial;
        spatial.assign(1, 0);
        for (auto c : channel)
            spatial[0] += c;
    }

    stats.elements += t.numel();
    stats.zeros += bins[kZeroBin];
    stats.negatives += bins[kNegativeBin];
    stats.images += n;
    stats.sum += sum;
    stats.min = std::min(stats.min, lo);
    stats.max = std::max(stats.max, hi);
    for (int b = 0; b < LogHistogram::kBinCount; ++b)
        stats.positive.addToBin(b, bins[std::size_t(b)]);
    if (stats.channelNonzero.size() < channel.size())
        stats.channelNonzero.resize(channel.size(), 0);
    for (std::size_t c = 0; c < channel.size(); ++c)
        stats.channelNonzero[c] += channel[c];
    if (t.dim() == 4) {
        if (stats.spatialNonzero.size() < spatial.size())
            stats.spatialNonzero.resize(spatial.size(), 0);
        for (std::size_t i = 0; i < spatial.size(); ++i)
            stats.spatialNonzero[i] += spatial[i];
    }
}

} // namespace

void accumulateStats(const at::Tensor &output, SiteStats &stats)
{
    auto t = output.detach();
    if (t.scalar_type() != at::kFloat)
        t = t.to(at::kFloat);
    if (!channelsLastOnly(t))
        t = t.contiguous();
    if (t.dim() == 0)
        t = t.reshape({1, 1});
    scanTensor(t, nullptr, 0.0f, stats);
}

bool scannedAsItIs(const at::Tensor &x)
{
    return x.is_contiguous() || channelsLastOnly(x);
}

at::Tensor thresholdWithStats(const at::Tensor &x, float threshold, SiteStats &stats, bool overwrite)
{
    const auto in = channelsLastOnly(x) ? x : x.contiguous();
    // Element k is read before it is written, in both kernels, so the output may be the input.
    auto y = overwrite && in.is_same(x) ? x : at::empty_like(in, at::MemoryFormat::Preserve);
    scanTensor(in.dim() == 0 ? in.reshape({1, 1}) : in, y.data_ptr<float>(), threshold, stats);
    return y;
}

bool vectorScanFor(std::int64_t planeSize)
{
    return avx512Scan.load(std::memory_order_relaxed) && planeSize >= 16;
}

at::Tensor affineThresholdWithStats(const at::Tensor &x, const std::vector<float> &alpha, const std::vector<float> &beta,
                                    const at::Tensor &residual, float threshold, SiteStats &stats)
{
    // Planes of one element are scanned as rows (channels along the row), where a per-plane affine has no place.
    TORCH_CHECK(x.dim() >= 3 && x.is_contiguous() && x.scalar_type() == at::kFloat && threshold >= 0.0f &&
                    std::int64_t(alpha.size()) == x.size(1) && alpha.size() == beta.size() &&
                    x.numel() > x.size(0) * x.size(1),
                "affineThresholdWithStats: needs a contiguous float N x C x H x ... tensor with planes of more than one "
                "element, C values each and a threshold >= 0");
    TORCH_CHECK(!residual.defined() || (residual.is_contiguous() && residual.scalar_type() == at::kFloat && residual.sizes() == x.sizes()),
                "affineThresholdWithStats: the residual must be a contiguous float tensor of the input's shape");
    auto y = at::empty_like(x, at::MemoryFormat::Contiguous);
    const Affine affine{alpha.data(), beta.data(), residual.defined() ? residual.data_ptr<float>() : nullptr};
    scanTensor(x, y.data_ptr<float>(), threshold, stats, &affine);
    return y;
}

at::Tensor addThresholdWithStats(const at::Tensor &x, const at::Tensor &residual, float threshold, SiteStats &stats,
                                 bool overwrite)
{
    TORCH_CHECK(x.dim() >= 2 && x.scalar_type() == at::kFloat && residual.scalar_type() == at::kFloat &&
                    x.sizes() == residual.sizes() && x.strides() == residual.strides() &&
                    scannedAsItIs(x) && threshold >= 0.0f,
                "addThresholdWithStats: needs two float tensors of one shape and layout (contiguous or channels-last) and "
                "a threshold >= 0");
    const auto shape = scanShape(x);
    const std::vector<float> ones(std::size_t(shape.channels), 1.0f), zeros(std::size_t(shape.channels), 0.0f);
    // Element k of x and r is read before element k of y is written, in both kernels.
    auto y = overwrite ? x : at::empty_like(x, at::MemoryFormat::Preserve);
    const Affine affine{ones.data(), zeros.data(), residual.data_ptr<float>(), true};
    scanTensor(x, y.data_ptr<float>(), threshold, stats, &affine);
    return y;
}

at::Tensor clampThresholdWithStats(const at::Tensor &x, float lower, float upper, float threshold, SiteStats &stats, bool overwrite)
{
    TORCH_CHECK(x.dim() >= 2 && x.scalar_type() == at::kFloat && scannedAsItIs(x) && threshold >= 0.0f &&
                    lower <= 0.0f && upper >= 0.0f,
                "clampThresholdWithStats: needs a float tensor (contiguous or channels-last), bounds around 0 and a "
                "threshold >= 0");
    auto y = overwrite ? x : at::empty_like(x, at::MemoryFormat::Preserve);
    Affine clamp{nullptr, nullptr};
    clamp.clamp = true;
    clamp.lower = lower;
    clamp.upper = upper;
    scanTensor(x, y.data_ptr<float>(), threshold, stats, &clamp);
    return y;
}

} // namespace sparsity::detail

namespace sparsity {

bool compressedStatisticsAvailable()
{
    return detail::cpuHasAvx512();
}

void setCompressedStatistics(bool enabled)
{
    detail::avx512Scan = enabled && compressedStatisticsAvailable();
}

} // namespace sparsity
