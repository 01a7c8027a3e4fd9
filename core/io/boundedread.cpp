#include "io/boundedread.h"

#include "error.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sparsity {

namespace {

// Closes the descriptor on every path out of readBounded().
struct Descriptor {
    int fd = -1;
    ~Descriptor()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

template <typename Buffer>
Buffer readBounded(const std::string &path, std::uint64_t cap, const std::string &kind)
{
    if (path.empty())
        throw Error("No " + kind + " path given (the path is empty)");
    Descriptor file;
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    file.fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (file.fd < 0) {
        const int error = errno;
        throw Error(path + ": cannot open the " + kind + " (" + std::strerror(error) + ")");
    }
    struct stat info {};
    if (::fstat(file.fd, &info) != 0)
        throw Error(path + ": cannot read the " + kind + " (" + std::strerror(errno) + ")");
    if (S_ISDIR(info.st_mode))
        throw Error(path + ": is a folder, expected a " + kind + " file");
    if (!S_ISREG(info.st_mode))
        throw Error(path + ": is not a regular file (a device, FIFO or socket); refusing to read it as a " + kind);
    if (std::uint64_t(info.st_size) > cap)
        throw Error(path + ": the " + kind + " is " + byteCountText(std::uint64_t(info.st_size)) + ", more than the " +
                    byteCountText(cap) + " a " + kind + " may have");
    Buffer bytes;
    bytes.resize(std::size_t(info.st_size));
    std::size_t done = 0;
    // The file may change while we read: never read more than its size at open time, and notice when it shrank.
    while (done < bytes.size()) {
        const ssize_t n = ::read(file.fd, &bytes[done], bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw Error(path + ": cannot read the " + kind + " (" + std::strerror(errno) + ")");
        if (n == 0)
            throw Error(path + ": the " + kind + " shrank while it was read (" + std::to_string(done) + " of " +
                        std::to_string(bytes.size()) + " bytes)");
        done += std::size_t(n);
    }
    return bytes;
}

} // namespace

std::uint64_t checkedMultiply(std::uint64_t a, std::uint64_t b, const std::string &what)
{
    std::uint64_t product = 0;
    if (__builtin_mul_overflow(a, b, &product))
        throw Error(what + ": " + std::to_string(a) + " x " + std::to_string(b) + " does not fit in 64 bits");
    return product;
}

std::vector<std::uint8_t> readBoundedBytes(const std::string &path, std::uint64_t cap, const std::string &kind)
{
    return readBounded<std::vector<std::uint8_t>>(path, cap, kind);
}

std::string readBoundedText(const std::string &path, std::uint64_t cap, const std::string &kind)
{
    return readBounded<std::string>(path, cap, kind);
}

void checkInputShape(const std::vector<std::int64_t> &chw, const std::string &what)
{
    auto text = [&] {
        std::string t = "[";
        for (std::size_t i = 0; i < chw.size(); ++i)
            t += (i ? ", " : "") + std::to_string(chw[i]);
        return t + "]";
    };
    if (chw.size() != 3)
        throw Error(what + " " + text() + " is not [channels, height, width]");
    if (chw[0] < 1 || chw[0] > limits::kInputChannels)
        throw Error(what + " " + text() + ": " + std::to_string(chw[0]) + " channels, expected 1 to " +
                    std::to_string(limits::kInputChannels));
    for (int i = 1; i < 3; ++i)
        if (chw[std::size_t(i)] < 1 || chw[std::size_t(i)] > limits::kInputSide)
            throw Error(what + " " + text() + ": " + (i == 1 ? "height " : "width ") + std::to_string(chw[std::size_t(i)]) +
                        ", expected 1 to " + std::to_string(limits::kInputSide));
    if (std::uint64_t(chw[0]) * std::uint64_t(chw[1]) * std::uint64_t(chw[2]) > limits::kInputElements)
        throw Error(what + " " + text() + " is more than the cap of " + std::to_string(limits::kInputElements) +
                    " values per image");
}

std::string byteCountText(std::uint64_t bytes)
{
    if (bytes >= limits::kMiB && bytes % limits::kMiB == 0)
        return std::to_string(bytes / limits::kMiB) + " MiB";
    return std::to_string(bytes) + " bytes";
}

} // namespace sparsity
