// libFuzzer target: the zip check that runs on every model, weights file and checkpoint before LibTorch's reader
// (core/io/ziparchive.cpp). It must either throw sparsity::Error or return records that lie inside the file, do not
// overlap, and (stored ones) match their CRC-32 — what LibTorch's reader then trusts without checking.
#include "error.h"
#include "io/ziparchive.h"

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string_view bytes(reinterpret_cast<const char *>(data), size);
    try {
        const auto entries = sparsity::checkTorchArchive(bytes, "fuzz.pt", "TorchScript model");
        std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
        for (const auto &e : entries) {
            if (e.dataOffset > size || e.compressedSize > size - e.dataOffset)
                std::abort(); // a record outside the file
            if (e.method == 0) {
                const auto crc = crc32_z(crc32_z(0L, Z_NULL, 0), data + e.dataOffset, std::size_t(e.compressedSize));
                if (std::uint32_t(crc) != e.crc32 || e.size != e.compressedSize)
                    std::abort();
            }
            spans.emplace_back(e.dataOffset, e.dataOffset + e.compressedSize);
        }
        std::sort(spans.begin(), spans.end());
        for (std::size_t i = 1; i < spans.size(); ++i)
            if (spans[i].first < spans[i - 1].second)
                std::abort(); // overlapping records
    } catch (const sparsity::Error &) {
    }
    return 0;
}
