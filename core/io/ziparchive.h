#pragma once
// The zip structure of a TorchScript archive (or a tuned-weights file, a checkpoint: PyTorch writes all of them as
// zip files), checked by our own code before LibTorch's reader sees a byte: LibTorch's zip reader trusts offsets and
// sizes and never verifies the CRC-32 of what it reads, so a damaged archive either crashes it or loads as a model
// with other weights. Torch-free, so tests/fuzz/fuzz_modelarchive.cpp fuzzes exactly this code.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sparsity {

struct ZipEntry {
    std::string name;
    std::uint16_t method = 0;       // 0 stored, 8 deflated
    std::uint32_t crc32 = 0;
    std::uint64_t compressedSize = 0;
    std::uint64_t size = 0;         // uncompressed
    std::uint64_t dataOffset = 0;   // of the (compressed) bytes in the archive
};

namespace limits {
constexpr std::uint64_t kZipEntries = 1u << 20;    // records in one archive (ResNet-50 has about 330)
constexpr std::uint64_t kZipNameBytes = 4096;      // one record's name
} // namespace limits

// The central directory of `bytes`, each record's local header matched with it, every record's data inside the
// file and before the directory, no two records overlapping, and the CRC-32 of every record verified (deflated
// ones inflated in pieces, bounded by their declared size). ZIP64 is supported. Throws sparsity::Error
// "<origin>: damaged zip archive (<problem>) ...".
std::vector<ZipEntry> readZipDirectory(std::string_view bytes, const std::string &origin);

// readZipDirectory, and the layout torch.jit.save / torch.save write: one top folder holding every record,
// with `data.pkl` and `version` in it. `what` names the kind in messages ("TorchScript model", "weights file").
// Returns the records.
std::vector<ZipEntry> checkTorchArchive(std::string_view bytes, const std::string &origin, const std::string &what);

} // namespace sparsity
