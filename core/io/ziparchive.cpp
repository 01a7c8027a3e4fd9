#include "io/ziparchive.h"

#include "error.h"
#include "io/boundedread.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace sparsity {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEnd = 0x06054b50,
                        kEnd64 = 0x06064b50, kEnd64Locator = 0x07064b50;
constexpr std::size_t kEndBytes = 22, kEnd64Bytes = 56, kLocatorBytes = 20, kCentralBytes = 46, kLocalBytes = 30;

// Little-endian fields at checked offsets: every read says what it reads, so a short archive names the part.
class Reader {
public:
    Reader(std::string_view bytes, const std::string &origin) : bytes_(bytes), origin_(origin) {}

    [[noreturn]] void fail(const std::string &problem) const
    {
        throw Error(origin_ + ": damaged zip archive (" + problem + "); the file is truncated or was changed after "
                              "it was saved");
    }
    std::uint64_t size() const { return bytes_.size(); }
    // `count` bytes at `at` exist.
    void need(std::uint64_t at, std::uint64_t count, const char *what) const
    {
        if (at > bytes_.size() || count > bytes_.size() - at)
            fail(std::string(what) + " at byte " + std::to_string(at) + " runs past the end of the file (" +
                 std::to_string(bytes_.size()) + " bytes)");
    }
    std::uint64_t le(std::uint64_t at, int width) const
    {
        std::uint64_t v = 0;
        for (int i = width - 1; i >= 0; --i)
            v = (v << 8) | std::uint8_t(bytes_[std::size_t(at) + std::size_t(i)]);
        return v;
    }
    std::uint16_t u16(std::uint64_t at) const { return std::uint16_t(le(at, 2)); }
    std::uint32_t u32(std::uint64_t at) const { return std::uint32_t(le(at, 4)); }
    std::uint64_t u64(std::uint64_t at) const { return le(at, 8); }
    std::string_view view(std::uint64_t at, std::uint64_t count) const
    {
        return bytes_.substr(std::size_t(at), std::size_t(count));
    }

private:
    std::string_view bytes_;
    const std::string &origin_;
};

struct Directory {
    std::uint64_t entries = 0, offset = 0, size = 0;
    std::uint64_t end = 0; // where the directory must stop: the first end record
};

Directory findDirectory(const Reader &r)
{
    if (r.size() < kEndBytes)
        r.fail("shorter than the smallest zip file");
    // The end record is the last 22 bytes plus a comment of at most 65,535 bytes.
    const std::uint64_t lowest = r.size() > kEndBytes + 0xFFFF ? r.size() - kEndBytes - 0xFFFF : 0;
    std::uint64_t end = r.size() - kEndBytes;
    for (;; --end) {
        if (r.u32(end) == kEnd && end + kEndBytes + r.u16(end + 20) <= r.size())
            break;
        if (end == lowest)
            r.fail("no end-of-directory record");
    }
    Directory d{r.u16(end + 10), r.u32(end + 16), r.u32(end + 12), end};
    if (r.u16(end + 4) != 0 || r.u16(end + 6) != 0)
        r.fail("split over several disks");
    const bool zip64 = d.entries == 0xFFFF || d.offset == 0xFFFFFFFF || d.size == 0xFFFFFFFF;
    if (end >= kLocatorBytes && r.u32(end - kLocatorBytes) == kEnd64Locator) {
        const std::uint64_t at = r.u64(end - kLocatorBytes + 8);
        r.need(at, kEnd64Bytes, "the ZIP64 end record");
        if (r.u32(at) != kEnd64 || at + kEnd64Bytes > end - kLocatorBytes)
            r.fail("the ZIP64 end record is not where its locator points");
        d = Directory{r.u64(at + 32), r.u64(at + 48), r.u64(at + 40), at};
    } else if (zip64) {
        r.fail("ZIP64 sizes without a ZIP64 end record");
    }
    if (d.offset > d.end || d.size > d.end - d.offset)
        r.fail("the central directory (" + std::to_string(d.size) + " bytes at " + std::to_string(d.offset) +
               ") does not fit before its end record");
    if (d.entries > limits::kZipEntries)
        r.fail(std::to_string(d.entries) + " records, more than the " + std::to_string(limits::kZipEntries) + " allowed");
    if (d.entries > d.size / kCentralBytes)
        r.fail(std::to_string(d.entries) + " records cannot fit in a " + std::to_string(d.size) + "-byte directory");
    return d;
}

// The ZIP64 extra field replaces the 32-bit fields that read 0xFFFFFFFF, in this order.
void readZip64Extra(const Reader &r, std::uint64_t extra, std::uint64_t extraEnd, ZipEntry &e, std::uint64_t &localOffset,
                    bool needSize, bool needCompressed, bool needOffset)
{
    while (extra + 4 <= extraEnd) {
        const std::uint16_t id = r.u16(extra), length = r.u16(extra + 2);
        if (extra + 4 + length > extraEnd)
            r.fail("an extra field of record '" + e.name + "' runs past its header");
        if (id == 0x0001) {
            std::uint64_t at = extra + 4;
            const std::uint64_t stop = at + length;
            auto take = [&](std::uint64_t &into) {
                if (at + 8 > stop)
                    r.fail("the ZIP64 field of record '" + e.name + "' is too short");
                into = r.u64(at);
                at += 8;
            };
            if (needSize)
                take(e.size);
            if (needCompressed)
                take(e.compressedSize);
            if (needOffset)
                take(localOffset);
            return;
        }
        extra += 4 + length;
    }
    if (needSize || needCompressed || needOffset)
        r.fail("record '" + e.name + "' has 32-bit sizes marked as ZIP64 but no ZIP64 field");
}

std::uint32_t crcOf(std::string_view data)
{
    uLong crc = crc32_z(0L, Z_NULL, 0);
    return std::uint32_t(crc32_z(crc, reinterpret_cast<const Bytef *>(data.data()), data.size()));
}

// Inflates a deflated record in pieces (never more than 64 KiB at a time) and checks that it gives exactly its
// declared size and CRC-32: torch.jit.save deflates the code records, the part of a model most worth tampering with.
void checkDeflated(const Reader &r, const ZipEntry &e)
{
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        r.fail("cannot start a decoder for record '" + e.name + "'");
    const std::string_view in = r.view(e.dataOffset, e.compressedSize);
    std::vector<Bytef> out(64 * 1024);
    uLong crc = crc32_z(0L, Z_NULL, 0);
    std::uint64_t produced = 0, consumed = 0;
    int status = Z_OK;
    while (status != Z_STREAM_END) {
        const std::uint64_t piece = std::min<std::uint64_t>(in.size() - consumed, 1u << 30);
        z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data() + consumed));
        z.avail_in = uInt(piece);
        z.next_out = out.data();
        z.avail_out = uInt(out.size());
        status = inflate(&z, Z_NO_FLUSH);
        consumed += piece - z.avail_in;
        const std::uint64_t got = out.size() - z.avail_out;
        produced += got;
        crc = crc32_z(crc, out.data(), std::size_t(got));
        if ((status != Z_OK && status != Z_STREAM_END) || produced > e.size ||
            (status == Z_OK && got == 0 && piece - z.avail_in == 0)) {
            inflateEnd(&z);
            r.fail("record '" + e.name + "' does not inflate to its " + std::to_string(e.size) + " bytes");
        }
    }
    inflateEnd(&z);
    if (produced != e.size || std::uint32_t(crc) != e.crc32)
        r.fail("record '" + e.name + "' does not match its CRC-32: its bytes were changed or damaged");
}

} // namespace

std::vector<ZipEntry> readZipDirectory(std::string_view bytes, const std::string &origin)
{
    const Reader r(bytes, origin);
    const Directory dir = findDirectory(r);
    std::vector<ZipEntry> entries;
    entries.reserve(std::size_t(dir.entries));
    std::vector<std::pair<std::uint64_t, std::uint64_t>> spans; // [local header, end of data) per record
    std::uint64_t at = dir.offset, totalSize = 0;
    const std::uint64_t stop = dir.offset + dir.size;
    for (std::uint64_t i = 0; i < dir.entries; ++i) {
        if (at + kCentralBytes > stop || r.u32(at) != kCentralHeader)
            r.fail("directory record " + std::to_string(i + 1) + " of " + std::to_string(dir.entries) + " is missing");
        ZipEntry e;
        const std::uint16_t flags = r.u16(at + 8);
        e.method = r.u16(at + 10);
        e.crc32 = r.u32(at + 16);
        e.compressedSize = r.u32(at + 20);
        e.size = r.u32(at + 24);
        const std::uint64_t nameLength = r.u16(at + 28), extraLength = r.u16(at + 30), commentLength = r.u16(at + 32);
        std::uint64_t localOffset = r.u32(at + 42);
        const std::uint64_t next = at + kCentralBytes + nameLength + extraLength + commentLength;
        if (next > stop)
            r.fail("directory record " + std::to_string(i + 1) + " runs past the directory");
        e.name = std::string(r.view(at + kCentralBytes, nameLength));
        if (e.name.empty() || e.name.find('\0') != std::string::npos)
            r.fail("directory record " + std::to_string(i + 1) + " has an empty or binary name");
        readZip64Extra(r, at + kCentralBytes + nameLength, at + kCentralBytes + nameLength + extraLength, e,
                       localOffset, e.size == 0xFFFFFFFF, e.compressedSize == 0xFFFFFFFF, localOffset == 0xFFFFFFFF);
        if (flags & 0x1)
            r.fail("record '" + e.name + "' is encrypted");
        if (e.method != 0 && e.method != 8)
            r.fail("record '" + e.name + "' uses compression method " + std::to_string(e.method) +
                   " (only stored and deflated records are read)");
        if (e.method == 0 && e.size != e.compressedSize)
            r.fail("stored record '" + e.name + "' has two sizes (" + std::to_string(e.size) + " and " +
                   std::to_string(e.compressedSize) + ")");
        // The local header repeats the name; its own extra field may differ (PyTorch pads data to 64 bytes there).
        r.need(localOffset, kLocalBytes, ("the local header of record '" + e.name + "'").c_str());
        if (r.u32(localOffset) != kLocalHeader || r.u16(localOffset + 26) != nameLength ||
            r.view(localOffset + kLocalBytes, std::min<std::uint64_t>(nameLength, r.size() - localOffset - kLocalBytes)) != e.name)
            r.fail("record '" + e.name + "' has no matching local header at byte " + std::to_string(localOffset));
        e.dataOffset = localOffset + kLocalBytes + nameLength + r.u16(localOffset + 28);
        if (e.dataOffset > dir.offset || e.compressedSize > dir.offset - e.dataOffset)
            r.fail("the data of record '" + e.name + "' (" + std::to_string(e.compressedSize) + " bytes at " +
                   std::to_string(e.dataOffset) + ") runs into the directory or past the end of the file");
        totalSize += e.size;
        if (e.size > limits::kModelFileBytes || totalSize > limits::kModelFileBytes)
            r.fail("its records expand to more than " + byteCountText(limits::kModelFileBytes));
        if (e.method == 0 && crcOf(r.view(e.dataOffset, e.compressedSize)) != e.crc32)
            r.fail("record '" + e.name + "' does not match its CRC-32: its bytes were changed or damaged");
        if (e.method == 8)
            checkDeflated(r, e);
        spans.emplace_back(localOffset, e.dataOffset + e.compressedSize);
        entries.push_back(std::move(e));
        at = next;
    }
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i)
        if (spans[i].first < spans[i - 1].second)
            r.fail("two records overlap at byte " + std::to_string(spans[i].first));
    return entries;
}

std::vector<ZipEntry> checkTorchArchive(std::string_view bytes, const std::string &origin, const std::string &what)
{
    auto fail = [&](const std::string &problem) {
        throw Error(origin + ": not a " + what + " (" + problem + "). Save it with torch.jit.save or torch.save.");
    };
    if (bytes.empty())
        fail("the file is empty");
    if (bytes.substr(0, 4) != std::string_view("PK\x03\x04", 4))
        fail("it does not start with a zip record");
    auto entries = readZipDirectory(bytes, origin);
    if (entries.empty())
        fail("an empty zip archive");
    const std::string &first = entries.front().name;
    const auto slash = first.find('/');
    if (slash == std::string::npos || slash == 0)
        fail("record '" + first + "' is not inside the archive's folder");
    const std::string folder = first.substr(0, slash + 1);
    std::set<std::string_view> names;
    for (const ZipEntry &e : entries) {
        if (e.name.compare(0, folder.size(), folder) != 0)
            fail("record '" + e.name + "' is outside the archive's folder '" + folder + "'");
        if (!names.insert(e.name).second)
            fail("record '" + e.name + "' appears twice");
    }
    for (const char *required : {"data.pkl", "version"})
        if (!names.count(folder + required))
            fail("it has no '" + folder + required + "' record");
    return entries;
}

} // namespace sparsity
