#include "data/cifar.h"

#include "error.h"
#include "data/idx.h"

#include <sstream>

namespace sparsity {

namespace {

[[noreturn]] void fail(const std::string &name, std::size_t offset, const std::string &what)
{
    std::ostringstream message;
    message << name << ": " << what << " (at byte offset " << offset << ")";
    throw Error(message.str());
}

} // namespace

CifarFile parseCifar(std::vector<std::uint8_t> bytes, int labelBytes, const std::string &name)
{
    if (labelBytes != 1 && labelBytes != 2)
        throw Error(name + ": internal error: CIFAR records have 1 or 2 label bytes, not " + std::to_string(labelBytes));
    CifarFile file;
    file.labelBytes = labelBytes;
    const std::size_t record = file.recordSize();
    const char *const kind = labelBytes == 1 ? "CIFAR-10" : "CIFAR-100";
    if (bytes.empty())
        fail(name, 0, std::string("empty file: expected ") + kind + " records of " + std::to_string(record) + " bytes");
    const std::size_t whole = bytes.size() / record;
    if (bytes.size() % record != 0)
        fail(name, whole * record,
             "truncated " + std::string(kind) + " file: record " + std::to_string(whole) + " has " +
                 std::to_string(bytes.size() - whole * record) + " of " + std::to_string(record) + " bytes");
    for (std::size_t r = 0; r < whole; ++r) {
        const std::size_t offset = r * record;
        if (labelBytes == 1) {
            if (bytes[offset] >= 10)
                fail(name, offset,
                     "label " + std::to_string(bytes[offset]) + " of record " + std::to_string(r) +
                         " is not a CIFAR-10 class (0-9); is this a CIFAR-100 file or not CIFAR at all?");
        } else {
            if (bytes[offset] >= 20)
                fail(name, offset,
                     "coarse label " + std::to_string(bytes[offset]) + " of record " + std::to_string(r) +
                         " is not a CIFAR-100 superclass (0-19); is this a CIFAR-10 file or not CIFAR at all?");
            if (bytes[offset + 1] >= 100)
                fail(name, offset + 1,
                     "fine label " + std::to_string(bytes[offset + 1]) + " of record " + std::to_string(r) +
                         " is not a CIFAR-100 class (0-99)");
        }
    }
    file.count = whole;
    file.bytes = std::move(bytes);
    return file;
}

CifarFile readCifar(const std::string &path, int labelBytes)
{
    return parseCifar(readFileMaybeGzip(path), labelBytes, path);
}

} // namespace sparsity
