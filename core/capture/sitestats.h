#pragma once

#include "capture/loghistogram.h"

#include <cstdint>
#include <limits>
#include <vector>

namespace sparsity {

// Statistics of one activation site's (thresholded) output, merged over batches and threads.
struct SiteStats {
    std::int64_t elements = 0;
    std::int64_t zeros = 0;     // exactly 0.0 (or -0.0)
    std::int64_t negatives = 0; // only dense sites have them
    std::int64_t images = 0;
    double sum = 0.0;
    float min = std::numeric_limits<float>::infinity();
    float max = -std::numeric_limits<float>::infinity();
    std::vector<std::int64_t> channelNonzero; // per channel (dim 1), summed over images and positions
    LogHistogram positive;                    // strictly positive values
    // Nonzero count per spatial position (H x W, row-major) summed over channels and images; empty for
    // outputs that are not 4-D. With a consumer's geometry this gives its exact synaptic operations.
    std::vector<std::int64_t> spatialNonzero;

    void merge(const SiteStats &other);
    double sparsity() const { return elements ? double(zeros) / double(elements) : 0.0; }
    double mean() const { return elements ? sum / double(elements) : 0.0; }
    std::int64_t nonzeros() const { return elements - zeros; }
    double nonzerosPerImage() const { return images ? double(nonzeros()) / double(images) : 0.0; }
    // Estimated sparsity if this output were thresholded at t (x <= t becomes 0). An estimate:
    // downstream sites see different inputs once t changes.
    double estimatedSparsityAt(double t) const;
    // Threshold that would make about `targetSparsity` of the elements zero (NNCF's quantile rule).
    double thresholdForSparsity(double targetSparsity) const;
};

} // namespace sparsity
