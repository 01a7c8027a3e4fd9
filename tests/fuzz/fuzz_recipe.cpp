// libFuzzer target: a training recipe either parses into settings within their documented ranges that survive a
// round trip through its own writer, or throws sparsity::Error.
#include "error.h"
#include "tune/recipe.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string json(reinterpret_cast<const char *>(data), size);
    try {
        const sparsity::Recipe r = sparsity::Recipe::fromJson(json, "fuzz.recipe.json");
        const std::string written = r.toJson();
        const sparsity::Recipe again = sparsity::Recipe::fromJson(written, "again.recipe.json");
        if (again.toJson() != written)
            std::abort(); // what we write must read back as it was
    } catch (const sparsity::Error &) {
    }
    return 0;
}
