#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sparsity {

// One CIFAR binary file: fixed-size records of label byte(s) followed by 32x32 RGB pixels stored as three
// 1024-byte planes (R, G, B).
//   CIFAR-10  (data_batch_*.bin, test_batch.bin): <label> <3072 pixels>
//   CIFAR-100 (train.bin, test.bin):              <coarse label> <fine label> <3072 pixels>
struct CifarFile {
    static constexpr int kSide = 32;
    static constexpr std::size_t kPixelBytes = 3 * 32 * 32;

    int labelBytes = 1; // 1 = CIFAR-10, 2 = CIFAR-100
    std::size_t count = 0;
    std::vector<std::uint8_t> bytes; // the whole file
    std::size_t recordSize() const { return std::size_t(labelBytes) + kPixelBytes; }
    // CIFAR-10: the label; CIFAR-100: labelIndex 0 = coarse, 1 = fine.
    int label(std::size_t record, int labelIndex = 0) const
    {
        return bytes[record * recordSize() + std::size_t(labelIndex)];
    }
    // Planar R, G, B (each 32 x 32) of one record.
    const std::uint8_t *planes(std::size_t record) const
    {
        return bytes.data() + record * recordSize() + std::size_t(labelBytes);
    }
};

// Validates CIFAR bytes: non-empty, a whole number of records, labels in range (< 10 for CIFAR-10; coarse < 20
// and fine < 100 for CIFAR-100, which is how a CIFAR-10 file read as CIFAR-100 or vice versa is usually caught).
// Throws sparsity::Error naming the file and the byte offset of the problem. `name` is used in messages.
CifarFile parseCifar(std::vector<std::uint8_t> bytes, int labelBytes, const std::string &name);

CifarFile readCifar(const std::string &path, int labelBytes);

} // namespace sparsity
