#include "data/idx.h"

#include "error.h"
#include "io/boundedread.h"

#include <zlib.h>

#include <algorithm>
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
    // Checked products: dimensions that multiply to 2^64 must not wrap to 0 and pass the data-size check.
    std::uint64_t total = 1;
    for (int d = 0; d < rank; ++d) {
        const std::uint32_t dim = readBigEndian32(bytes.data() + 4 + 4 * d);
        if (dim > (1u << 30))
            fail(name, 4 + 4 * std::size_t(d),
                 "dimension " + std::to_string(d) + " is " + std::to_string(dim) + ", more than the cap of 2^30");
        array.dims.push_back(dim);
        if (__builtin_mul_overflow(total, std::uint64_t(dim), &total) || total > limits::kDataFileBytes)
            fail(name, 4 + 4 * std::size_t(d),
                 "the dimensions describe more than " + byteCountText(limits::kDataFileBytes) +
                     " of data, the cap for an IDX file");
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
    std::vector<std::uint8_t> raw = readBoundedBytes(path, limits::kDataFileBytes, "data file");
    if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b)
        return raw;
    return gunzipBounded(raw, limits::kDataFileBytes, path);
}

std::vector<std::uint8_t> gunzipBounded(const std::vector<std::uint8_t> &raw, std::uint64_t cap, const std::string &name)
{
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 32) != Z_OK)
        throw Error(name + ": cannot initialise gzip decoder");
    struct End {
        z_stream &s;
        ~End() { inflateEnd(&s); }
    } end{stream};
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> chunk(1 << 20);
    // avail_in is 32-bit: feed the input in pieces instead of truncating its size.
    constexpr std::size_t kMaxPiece = std::size_t(1) << 30;
    std::size_t fed = 0;
    int status = Z_OK;
    while (status != Z_STREAM_END) {
        if (stream.avail_in == 0 && fed < raw.size()) {
            const std::size_t piece = std::min(kMaxPiece, raw.size() - fed);
            stream.next_in = const_cast<Bytef *>(raw.data() + fed);
            stream.avail_in = static_cast<uInt>(piece);
            fed += piece;
        }
        stream.next_out = chunk.data();
        stream.avail_out = static_cast<uInt>(chunk.size());
        status = inflate(&stream, Z_NO_FLUSH);
        if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR)
            fail(name, stream.total_in, "corrupt gzip data");
        const std::size_t produced = chunk.size() - stream.avail_out;
        // Bounded while streaming: a gzip bomb stops at the cap, not after it has filled memory.
        if (out.size() + produced > cap)
            fail(name, stream.total_in,
                 "gzip data expands to more than " + byteCountText(cap) + ", the cap for a data file");
        out.insert(out.end(), chunk.data(), chunk.data() + produced);
        if (status != Z_STREAM_END && stream.avail_in == 0 && fed == raw.size() && produced == 0)
            fail(name, stream.total_in, "truncated gzip stream");
    }
    return out;
}

IdxArray readIdx(const std::string &path)
{
    return parseIdx(readFileMaybeGzip(path), path);
}

} // namespace sparsity
