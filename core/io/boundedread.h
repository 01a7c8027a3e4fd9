#pragma once
// Reading files that come from users: every read is bounded, refuses what is not a regular file (a device such as
// /dev/zero, a FIFO, a socket, a folder), and every size taken from a file is multiplied with overflow checks.

#include <cstdint>
#include <string>
#include <vector>

namespace sparsity {

// Caps on what one input may make us read or allocate. docs/hostile-input.md lists them with their reasons.
namespace limits {
constexpr std::uint64_t kMiB = std::uint64_t(1) << 20;
constexpr std::uint64_t kModelFileBytes = 4096 * kMiB;   // a TorchScript archive (ResNet-50 is 98 MiB)
constexpr std::uint64_t kDataFileBytes = 2048 * kMiB;    // one IDX or CIFAR file, also after gunzip
constexpr std::uint64_t kImageFileBytes = 256 * kMiB;    // one image file of a folder dataset
constexpr std::uint64_t kSettingsFileBytes = 64 * kMiB;  // project, recipe, thresholds, preset (JSON)
constexpr std::uint64_t kWeightsFileBytes = 4096 * kMiB; // a tuned-weights file or training checkpoint
constexpr std::uint64_t kImagePixels = std::uint64_t(1) << 26; // 8192 x 8192: one decoded or resized image
constexpr std::int64_t kInputSide = 16384;                     // a model input's height or width
constexpr std::int64_t kInputChannels = 64;                    // a model input's channels
constexpr std::uint64_t kInputElements = 3ull * 4096 * 4096;   // channels x height x width of one model input
} // namespace limits

// a * b, or throws sparsity::Error "<what>: <a> x <b> overflows" when it does not fit in 64 bits.
std::uint64_t checkedMultiply(std::uint64_t a, std::uint64_t b, const std::string &what);

// The whole file as bytes. Throws sparsity::Error naming `path` when the path is empty, the file does not exist,
// is not a regular file (symlinks are followed: a link to /dev/zero is a device), or is larger than `cap` bytes.
// `kind` names the file in messages ("model", "IDX file", "project").
std::vector<std::uint8_t> readBoundedBytes(const std::string &path, std::uint64_t cap, const std::string &kind);
std::string readBoundedText(const std::string &path, std::uint64_t cap, const std::string &kind);

// A model input shape [channels, height, width] within kInputChannels, kInputSide and kInputElements, checked
// before any tensor of that shape is made. Throws sparsity::Error "<what> ..." naming the cap.
void checkInputShape(const std::vector<std::int64_t> &chw, const std::string &what);

// "4096 MiB" / "123 bytes" for messages.
std::string byteCountText(std::uint64_t bytes);

} // namespace sparsity
