#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace sparsity {

// Histogram of strictly positive values with 8 bins per octave from 2^-24 (about 6e-8) to 2^16,
// plus an underflow and an overflow bin. Resolves the near-zero band (where thresholds live)
// and the bulk with the same relative precision (about 9 % per bin), and the bin of a float is
// read from its bits, so filling costs a shift and a subtract per element.
class LogHistogram {
public:
    static constexpr int kBinsPerOctave = 8;
    static constexpr int kMinExponent = -24;
    static constexpr int kMaxExponent = 16;
    static constexpr int kRegularBins = (kMaxExponent - kMinExponent) * kBinsPerOctave;
    static constexpr int kBinCount = kRegularBins + 2; // [0] underflow, [last] overflow

    LogHistogram() : counts_(kBinCount, 0) {}

    static inline int binOf(float positiveValue)
    {
        std::uint32_t bits;
        std::memcpy(&bits, &positiveValue, sizeof bits);
        const int key = static_cast<int>(bits >> 20); // 8 exponent bits + 3 mantissa bits
        const int index = key - kLowKey + 1;
        return index < 0 ? 0 : (index > kBinCount - 1 ? kBinCount - 1 : index);
    }

    // Value range of a bin; the underflow bin starts at 0 and the overflow bin ends at +inf.
    static double lowerEdge(int bin);
    static double upperEdge(int bin);

    void add(float positiveValue) { ++counts_[binOf(positiveValue)]; }
    void addToBin(int bin, std::int64_t count) { counts_[bin] += count; }
    void merge(const LogHistogram &other);
    void clear();

    std::int64_t total() const;
    std::int64_t count(int bin) const { return counts_[bin]; }
    const std::vector<std::int64_t> &counts() const { return counts_; }
    std::int64_t *data() { return counts_.data(); }

    // Estimated number of values <= t, assuming values spread uniformly inside each bin.
    double countAtOrBelow(double t) const;
    // Smallest t such that about `count` values are <= t (inverse of countAtOrBelow).
    double quantileValue(double count) const;

    // The bits >> 20 of the smallest value of regular bin 1 (bulk fills compute bins from the bits themselves).
    static constexpr int firstKey() { return kLowKey; }

private:
    static constexpr int kLowKey = (127 + kMinExponent) << 3;
    std::vector<std::int64_t> counts_;
};

} // namespace sparsity
