// libFuzzer target: the IDX parser must either return a consistent array or throw sparsity::Error.
#include "error.h"
#include "data/idx.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::vector<std::uint8_t> bytes(data, data + size);
    try {
        const sparsity::IdxArray array = sparsity::parseIdx(bytes, "fuzz.idx");
        // Checked: a product that wraps (dimensions multiplying to 2^64) is itself the bug to find.
        std::uint64_t total = 1;
        for (auto d : array.dims)
            if (d < 0 || __builtin_mul_overflow(total, std::uint64_t(d), &total))
                std::abort();
        if (array.dims.empty() || array.data.size() != total || array.data.size() > size)
            std::abort(); // the parser's own invariants
    } catch (const sparsity::Error &) {
    }
    return 0;
}
