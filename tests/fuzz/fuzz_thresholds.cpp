// libFuzzer target: a thresholds file either parses into finite, non-negative thresholds that survive a round trip
// through its own writer, or throws sparsity::Error.
#include "error.h"
#include "tune/thresholdsfile.h"

#include <QByteArray>

#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

bool valid(double t) { return std::isfinite(t) && t >= 0.0 && t <= double(FLT_MAX); }

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArray json(reinterpret_cast<const char *>(data), qsizetype(size));
    try {
        const sparsity::ThresholdsFile f = sparsity::parseThresholdsFile(json, "fuzz.json");
        for (const auto &[name, t] : f.thresholds)
            if (!valid(t))
                std::abort();
        for (const auto &[name, list] : f.channelThresholds)
            for (double t : list)
                if (!valid(t))
                    std::abort();
        const sparsity::ThresholdsFile again = sparsity::parseThresholdsFile(sparsity::thresholdsFileToJson(f), "again.json");
        if (again.thresholds != f.thresholds || again.channelThresholds != f.channelThresholds || again.model != f.model)
            std::abort(); // what we write must read back as it was
    } catch (const sparsity::Error &) {
    }
    return 0;
}
