#include "capture/sitestats.h"

#include <algorithm>
#include <cmath>

namespace sparsity {

void SiteStats::merge(const SiteStats &other)
{
    elements += other.elements;
    zeros += other.zeros;
    negatives += other.negatives;
    images += other.images;
    sum += other.sum;
    min = std::min(min, other.min);
    max = std::max(max, other.max);
    if (channelNonzero.size() < other.channelNonzero.size())
        channelNonzero.resize(other.channelNonzero.size(), 0);
    for (std::size_t c = 0; c < other.channelNonzero.size(); ++c)
        channelNonzero[c] += other.channelNonzero[c];
    if (spatialNonzero.size() < other.spatialNonzero.size())
        spatialNonzero.resize(other.spatialNonzero.size(), 0);
    for (std::size_t i = 0; i < other.spatialNonzero.size(); ++i)
        spatialNonzero[i] += other.spatialNonzero[i];
    positive.merge(other.positive);
}

double SiteStats::estimatedSparsityAt(double t) const
{
    if (elements == 0)
        return 0.0;
    const double removed = double(zeros) + positive.countAtOrBelow(t);
    return std::min(1.0, removed / double(elements));
}

double SiteStats::thresholdForSparsity(double targetSparsity) const
{
    if (elements == 0)
        return 0.0;
    const double wanted = targetSparsity * double(elements) - double(zeros);
    // Interpolation inside the top bin can pass the largest value seen: no threshold above it is needed.
    if (wanted <= 0.0)
        return 0.0;
    const double t = positive.quantileValue(wanted);
    return std::isfinite(max) ? std::min(t, double(max)) : t;
}

} // namespace sparsity
