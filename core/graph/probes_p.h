#pragma once
// Internal to core: the probe registry shared by the probe op, the model and the capture loop.

#include "capture/sitestats.h"

#include <ATen/core/Tensor.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace sparsity::detail {

// Per-model probe state. The probe op finds it by the model id baked into the graph, so thresholds
// and statistics change without touching the graph.
struct ProbeState {
    std::vector<float> thresholds;            // per site, as checkedThresholds left them (>= 0; 0 at dense sites)
    std::vector<std::vector<float>> channelThresholds; // per site, optional (empty = scalar)
    std::vector<bool> thresholdable;          // false for dense sites and input taps
    // probe_relu sites that were in-place ReLUs in the model, on an input nothing else reads: outside autograd
    // the probe writes its output over its input, as the model did (no new buffer, cache-warm writes).
    std::vector<bool> overwritesInput;
    // probe_bn_relu sites: whether the folded BatchNorm reproduced aten::batch_norm bit for bit on its first batch
    // (0 not checked yet, 1 yes, -1 no: that site then runs aten::batch_norm and the ReLU probe).
    std::vector<int> batchNormFoldExact;
    std::vector<std::vector<std::int64_t>> shapes; // per-image output shape, seen on first execution
    std::vector<int> executionOrder;          // first-execution rank, -1 until executed
    std::atomic<int> executedCount{0};

    bool collectStats = false;
    std::vector<SiteStats> stats; // accumulated while collectStats is on

    // Feature maps kept for a few images while capturing (batch positions to keep).
    std::vector<int> keepBatchPositions;
    std::vector<std::vector<at::Tensor>> keptMaps; // [site] -> tensor of kept images, N_keep x ...

    // Sites whose output each forward pass keeps whole while capturing (CachedEvaluation's cut points), and the
    // outputs of the last pass.
    std::vector<bool> cacheOutputs;
    std::vector<at::Tensor> cachedOutputs;

    // Training: partial regularisation.
    bool regularize = false;
    std::vector<bool> inScope;
    std::vector<float> band;      // activations in (0, band] are penalised; <= 0 means no upper limit (L1 on all)
    bool hoyer = false;           // Hoyer-square over the whole output instead of L1 over the band
    std::vector<float> penaltyWeight;     // per site; empty: every site's term weighs 1
    std::vector<std::vector<float>> channelBand; // per site, optional: the band's upper end per channel (overrides `band`)
    std::vector<at::Tensor> penaltyTerms; // filled by probes during a training forward pass
    // Thresholds learned with the weights (finetune.learn_thresholds): per site a 0-dim tensor that requires grad
    // (undefined: the site's threshold is a constant). In a training pass such a site thresholds with a
    // straight-through mask and adds its nonzero fraction to `sparsityTerms` (docs/star.md).
    std::vector<at::Tensor> learnedThresholds;
    std::vector<float> sparsityWeight; // per site, the weight of its nonzero fraction in the pressure (empty: 1)
    std::vector<at::Tensor> sparsityTerms;
    // Distributed training: Hoyer-square is not a sum over images, so each probe records the parts of its term
    // (L1, sum of squares, elements, weight) and the training step composes the term of the whole global batch.
    struct HoyerParts {
        at::Tensor l1, squares;
        double elements = 0.0;
        double weight = 1.0;
    };
    bool hoyerAsParts = false;
    std::vector<HoyerParts> hoyerParts;
    // Distributed training with BatchNorm statistics: a training-mode BatchNorm (an aten::batch_norm routed through
    // sparsity::batch_norm, or one folded into a probe) calls this instead, which normalises with the statistics of
    // the whole global batch. Unset: at::batch_norm.
    std::function<at::Tensor(const at::Tensor &x, const c10::optional<at::Tensor> &weight, const c10::optional<at::Tensor> &bias,
                             const c10::optional<at::Tensor> &runningMean, const c10::optional<at::Tensor> &runningVar,
                             double momentum, double eps)>
        trainingBatchNorm;
    bool retainOutputs = false;           // inspection: keep every probe output with its gradient
    std::vector<std::pair<int, at::Tensor>> retainedOutputs;
    std::vector<std::int64_t> trainZeros, trainElements; // cheap sparsity while training

    std::mutex mutex; // guards the vectors above against concurrent forward passes of one model
};

int registerProbeState(std::shared_ptr<ProbeState> state);
void unregisterProbeState(int id);
std::shared_ptr<ProbeState> probeState(int id);

// Accumulates statistics of one (already thresholded) output into `stats`.
void accumulateStats(const at::Tensor &output, SiteStats &stats);
// y = x <= t ? 0 : x (aten::threshold(x, t, 0); with t >= 0 this includes the ReLU) and its statistics into
// `stats`, in one pass over a float x. y is a new tensor, or with `overwrite` x itself when x is contiguous.
at::Tensor thresholdWithStats(const at::Tensor &x, float threshold, SiteStats &stats, bool overwrite = false);
// Whether the statistics kernels read x as it is, without a copy first: contiguous, or channels-last (the inference
// copy's maps).
bool scannedAsItIs(const at::Tensor &x);
// Whether planes of this size get the AVX-512 pass (the portable one computes a folded affine much more slowly).
bool vectorScanFor(std::int64_t planeSize);
// The same after an affine per channel and an optional residual, y = threshold(x * alpha[c] + beta[c] + r, t), the
// product and sum rounded once (as an FMA; an inference BatchNorm folded into the pass), then r added, into a new
// tensor. x (and r): contiguous float N x C x H x ... with planes of more than one element; t >= 0.
at::Tensor affineThresholdWithStats(const at::Tensor &x, const std::vector<float> &alpha, const std::vector<float> &beta,
                                    const at::Tensor &residual, float threshold, SiteStats &stats);
// y = threshold(x + r, t) (the sum rounded once, as aten::add) into a new tensor of x's layout (with `overwrite`, x
// itself), and its statistics: x and r float, one shape and one layout (contiguous or channels-last), t >= 0.
at::Tensor addThresholdWithStats(const at::Tensor &x, const at::Tensor &residual, float threshold, SiteStats &stats,
                                 bool overwrite = false);
// y = threshold(clamp(x, lower, upper), t) (aten::hardtanh, then aten::threshold; NaN kept) into a new tensor of x's
// layout (with `overwrite`, x itself), and its statistics: x float, contiguous or channels-last; lower <= 0 <= upper,
// t >= 0.
at::Tensor clampThresholdWithStats(const at::Tensor &x, float lower, float upper, float threshold, SiteStats &stats,
                                   bool overwrite = false);

} // namespace sparsity::detail
