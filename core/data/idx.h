#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparsity {

// An IDX file (the MNIST family's format): unsigned-byte data with its dimensions.
struct IdxArray {
    std::vector<std::int64_t> dims;
    std::vector<std::uint8_t> data;
    std::int64_t count() const { return dims.empty() ? 0 : dims[0]; }
};

// Parses IDX bytes (already decompressed). `name` is used in error messages.
// Throws sparsity::Error naming the file and the byte offset of the problem.
IdxArray parseIdx(const std::vector<std::uint8_t> &bytes, const std::string &name);

// Reads a whole regular file, transparently gunzipping `.gz` (detected by the gzip magic, not the name). Both the
// file and its decompressed data are capped (limits::kDataFileBytes); throws sparsity::Error naming the file.
std::vector<std::uint8_t> readFileMaybeGzip(const std::string &path);

// Decompresses gzip or zlib data, throwing once the output would exceed `cap` bytes.
std::vector<std::uint8_t> gunzipBounded(const std::vector<std::uint8_t> &raw, std::uint64_t cap, const std::string &name);

IdxArray readIdx(const std::string &path);

} // namespace sparsity
