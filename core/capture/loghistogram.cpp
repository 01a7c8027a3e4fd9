#include "capture/loghistogram.h"

#include <cmath>
#include <limits>

namespace sparsity {

double LogHistogram::lowerEdge(int bin)
{
    if (bin <= 0)
        return 0.0;
    if (bin >= kBinCount - 1)
        return std::ldexp(1.0, kMaxExponent);
    const int regular = bin - 1;
    const int octave = regular / kBinsPerOctave;
    const int step = regular % kBinsPerOctave;
    return std::ldexp(1.0 + step / double(kBinsPerOctave), kMinExponent + octave);
}

double LogHistogram::upperEdge(int bin)
{
    if (bin >= kBinCount - 1)
        return std::numeric_limits<double>::infinity();
    return lowerEdge(bin + 1);
}

void LogHistogram::merge(const LogHistogram &other)
{
    for (int i = 0; i < kBinCount; ++i)
        counts_[i] += other.counts_[i];
}

void LogHistogram::clear()
{
    counts_.assign(kBinCount, 0);
}

std::int64_t LogHistogram::total() const
{
    std::int64_t sum = 0;
    for (auto c : counts_)
        sum += c;
    return sum;
}

double LogHistogram::countAtOrBelow(double t) const
{
    if (t <= 0.0)
        return 0.0;
    double sum = 0.0;
    for (int bin = 0; bin < kBinCount; ++bin) {
        const double lo = lowerEdge(bin);
        const double hi = upperEdge(bin);
        if (t >= hi) {
            sum += double(counts_[bin]);
            continue;
        }
        if (t > lo && std::isfinite(hi))
            sum += double(counts_[bin]) * (t - lo) / (hi - lo);
        break;
    }
    return sum;
}

double LogHistogram::quantileValue(double count) const
{
    if (count <= 0.0)
        return 0.0;
    double sum = 0.0;
    for (int bin = 0; bin < kBinCount; ++bin) {
        const double c = double(counts_[bin]);
        if (sum + c >= count && c > 0) {
            const double lo = lowerEdge(bin);
            const double hi = upperEdge(bin);
            if (!std::isfinite(hi))
                return lo;
            return lo + (hi - lo) * (count - sum) / c;
        }
        sum += c;
    }
    return lowerEdge(kBinCount - 1);
}

} // namespace sparsity
