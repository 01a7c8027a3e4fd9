#include "data/idx.h"

#include "error.h"

#include <zlib.h>

#include <fstream>
#include <iterator>
#include <sstream>

namespace sparsity {

namespace {

std::uint32_t readBigEndian32(const std::uint8_t *p)
{
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

[[noreturn]] void fail(const std::string &name, std::size_t offset, const std::string &what)
{
    std::ostringstream message;
    message << name << ": " << what << " (at byte offset " << offset << ")";
    throw Error(message.str());
}

} // namespace

IdxArray parseIdx(const std::vector<std::uint8_t> &bytes, const std::string &name)
{
    if (bytes.size() < 4)
        fail(name, bytes.size(), "file too short for an IDX header: " + std::to_string(bytes.size()) + " bytes");
    if (bytes[0] != 0 || bytes[1] != 0)
        fail(name, 0, "wrong magic number: not an IDX file (expected the first two bytes to be 0)");
    if (bytes[2] != 0x08)
        fail(name, 2, "unsupported IDX data type 0x" + std::to_string(bytes[2]) + " (only unsigned byte, 0x08, is supported)");
    const int rank = bytes[3];
    if (rank < 1 || rank > 4)
        fail(name, 3, "unsupported IDX rank " + std::to_string(rank) + " (expected 1 to 4)");
    const std::size_t headerSize = 4 + 4 * std::size_t(rank);
    if (bytes.size() < headerSize)
        fail(name, bytes.size(), "truncated IDX header: expected " + std::to_string(headerSize) + " bytes");

    IdxArray array;
    std::uint64_t total = 1;
    for (int d = 0; d < rank; ++d) {
        const std::uint32_t dim = readBigEndian32(bytes.data() + 4 + 4 * d);
        if (dim > (1u << 30))
            fail(name, 4 + 4 * std::size_t(d), "implausible dimension " + std::to_string(dim));
        array.dims.push_back(dim);
        total *= dim;
        if (total > (std::uint64_t(1) << 34))
            fail(name, 4 + 4 * std::size_t(d), "dimensions describe more than 16 GiB of data");
    }
    const std::uint64_t available = bytes.size() - headerSize;
    if (available < total)
        fail(name, bytes.size(),
             "truncated IDX data: expected " + std::to_string(total) + " data bytes, found " + std::to_string(available));
    array.data.assign(bytes.begin() + std::ptrdiff_t(headerSize), bytes.begin() + std::ptrdiff_t(headerSize + total));
    return array;
}

std::vector<std::uint8_t> readFileMaybeGzip(const std::string &path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw Error(path + ": cannot open file");
    std::vector<std::uint8_t> raw((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
        return raw;

    z_stream stream{};
    if (inflateInit2(&stream, 15 + 32) != Z_OK)
        throw Error(path + ": cannot initialise gzip decoder");
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> chunk(1 << 20);
    stream.next_in = raw.data();
    stream.avail_in = static_cast<uInt>(raw.size());
    int status = Z_OK;
    while (status != Z_STREAM_END) {
        stream.next_out = chunk.data();
        stream.avail_out = static_cast<uInt>(chunk.size());
        status = inflate(&stream, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END) {
            const auto offset = stream.total_in;
            inflateEnd(&stream);
            fail(path, offset, "corrupt gzip data");
        }
        out.insert(out.end(), chunk.data(), chunk.data() + (chunk.size() - stream.avail_out));
        if (status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
            const auto offset = stream.total_in;
            inflateEnd(&stream);
            fail(path, offset, "truncated gzip stream");
        }
    }
    inflateEnd(&stream);
    return out;
}

IdxArray readIdx(const std::string &path)
{
    return parseIdx(readFileMaybeGzip(path), path);
}

} // namespace sparsity
