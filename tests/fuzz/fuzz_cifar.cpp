// libFuzzer target: the CIFAR parser must either return whole records with labels in range or throw
// sparsity::Error. The first input byte picks CIFAR-10 or CIFAR-100.
#include "data/cifar.h"
#include "error.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    if (size == 0)
        return 0;
    const int labelBytes = (data[0] & 1) ? 2 : 1;
    std::vector<std::uint8_t> bytes(data + 1, data + size);
    try {
        const sparsity::CifarFile file = sparsity::parseCifar(std::move(bytes), labelBytes, "fuzz.bin");
        if (file.count == 0 || file.count * file.recordSize() != size - 1)
            std::abort();
        for (std::size_t r = 0; r < file.count; ++r) {
            if (labelBytes == 1 ? file.label(r) >= 10 : (file.label(r, 0) >= 20 || file.label(r, 1) >= 100))
                std::abort();
            volatile std::uint8_t last = file.planes(r)[sparsity::CifarFile::kPixelBytes - 1];
            (void)last;
        }
    } catch (const sparsity::Error &) {
    }
    return 0;
}
