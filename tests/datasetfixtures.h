#pragma once
// Small dataset fixtures written by the tests themselves.

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fixtures {

inline void writeBytes(const std::string &path, const std::vector<std::uint8_t> &bytes)
{
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
    if (!out)
        throw std::runtime_error(path + ": cannot write fixture");
}

inline void writeGzip(const std::string &path, const std::vector<std::uint8_t> &bytes)
{
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    gzFile f = gzopen(path.c_str(), "wb");
    if (!f || gzwrite(f, bytes.data(), unsigned(bytes.size())) != int(bytes.size()))
        throw std::runtime_error(path + ": cannot write gzip fixture");
    gzclose(f);
}

inline void writeText(const std::string &path, const std::string &text)
{
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
}

inline std::vector<std::uint8_t> idxBytes(const std::vector<std::uint32_t> &dims, const std::vector<std::uint8_t> &data)
{
    std::vector<std::uint8_t> b{0, 0, 0x08, std::uint8_t(dims.size())};
    for (auto d : dims)
        for (int shift = 24; shift >= 0; shift -= 8)
            b.push_back(std::uint8_t(d >> shift));
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

// Pixel value of IDX/CIFAR fixture item `i` at byte `k`: distinct per item.
inline std::uint8_t pixel(std::size_t i, std::size_t k)
{
    return std::uint8_t((i * 37 + k * 11) % 256);
}

// n images of h x w, labels i % classes.
inline std::vector<std::uint8_t> idxImages(std::uint32_t n, std::uint32_t h, std::uint32_t w)
{
    std::vector<std::uint8_t> data(std::size_t(n) * h * w);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < std::size_t(h) * w; ++k)
            data[i * h * w + k] = pixel(i, k);
    return idxBytes({n, h, w}, data);
}

inline std::vector<std::uint8_t> idxLabels(std::uint32_t n, int classes)
{
    std::vector<std::uint8_t> data(n);
    for (std::size_t i = 0; i < n; ++i)
        data[i] = std::uint8_t(int(i) % classes);
    return idxBytes({n}, data);
}

// CIFAR records: label bytes then planar R, G, B; item i's label (fine for CIFAR-100) is (i + first) % classes.
inline std::vector<std::uint8_t> cifarBytes(std::size_t n, int labelBytes, std::size_t first = 0)
{
    std::vector<std::uint8_t> b;
    for (std::size_t r = 0; r < n; ++r) {
        const std::size_t i = first + r;
        if (labelBytes == 1) {
            b.push_back(std::uint8_t(i % 10));
        } else {
            b.push_back(std::uint8_t(i % 20));
            b.push_back(std::uint8_t((i * 7) % 100));
        }
        for (std::size_t k = 0; k < 3072; ++k)
            b.push_back(pixel(i, k));
    }
    return b;
}

// An image whose pixels encode (seed, y, x, channel); written by OpenCV (BGR in memory).
inline cv::Mat patternImage(int width, int height, int seed, int channels = 3)
{
    cv::Mat m(height, width, channels == 3 ? CV_8UC3 : CV_8UC1);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < channels; ++c)
                m.ptr<std::uint8_t>(y)[x * channels + c] = std::uint8_t((seed * 50 + y * 7 + x * 3 + c * 60) % 256);
    return m;
}

inline void writeImage(const std::string &path, const cv::Mat &m)
{
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    if (!cv::imwrite(path, m))
        throw std::runtime_error(path + ": cannot write image fixture");
}

} // namespace fixtures
