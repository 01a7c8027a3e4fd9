// Preprocessing: RawImage -> CHW float, following torchvision's transforms where they are defined exactly
// (center crop offsets and padding, shorter-side sizes, PIL's grayscale weights, ToTensor + Normalize).
#include "data/dataset.h"
#include "error.h"
#include "io/boundedread.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <sstream>

namespace sparsity {

Preprocessing Preprocessing::imagenet224()
{
    Preprocessing p;
    p.channels = 3;
    p.height = p.width = 224;
    p.resize = Resize::ShorterSide;
    p.resizeTo = 256;
    p.centerCrop = true;
    p.mean = {0.485f, 0.456f, 0.406f};
    p.std = {0.229f, 0.224f, 0.225f};
    return p;
}

namespace {

// Small datasets' images are resized straight to the model's square input and normalised per channel.
Preprocessing exactSquare(int channels, int size, std::vector<float> mean, std::vector<float> std)
{
    Preprocessing p;
    p.channels = channels;
    p.height = p.width = size;
    p.resize = Preprocessing::Resize::Exact;
    p.mean = std::move(mean);
    p.std = std::move(std);
    return p;
}

} // namespace

Preprocessing Preprocessing::cifar32()
{
    return exactSquare(3, 32, {0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f});
}

Preprocessing Preprocessing::mnistLike28()
{
    // Fashion-MNIST statistics, as used by the sample models (sampledata/trainer).
    return exactSquare(1, 28, {0.2860f}, {0.3530f});
}

void Preprocessing::validate() const
{
    auto bad = [](const std::string &what) { throw Error("Preprocessing: " + what); };
    if (channels != 1 && channels != 3)
        bad("channels must be 1 (grayscale) or 3 (RGB), not " + std::to_string(channels));
    if (height <= 0 || width <= 0 || height > 16384 || width > 16384)
        bad("input size " + std::to_string(height) + "x" + std::to_string(width) + " is not between 1 and 16384");
    if (std::uint64_t(channels) * std::uint64_t(height) * std::uint64_t(width) > limits::kInputElements)
        bad("input size " + std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width) +
            " is more than the cap of " + std::to_string(limits::kInputElements) + " values per image");
    if (resizeTo < 0 || resizeTo > 16384)
        bad("resize length " + std::to_string(resizeTo) + " is not between 0 and 16384");
    if (randomCropPadding < 0 || randomCropPadding > 4096)
        bad("random crop padding " + std::to_string(randomCropPadding) + " is not between 0 and 4096");
    if (mean.size() != 1 && mean.size() != std::size_t(channels))
        bad(std::to_string(mean.size()) + " mean values for " + std::to_string(channels) + " channels (expected 1 or " +
            std::to_string(channels) + ")");
    if (std.size() != 1 && std.size() != std::size_t(channels))
        bad(std::to_string(std.size()) + " std values for " + std::to_string(channels) + " channels (expected 1 or " +
            std::to_string(channels) + ")");
    for (float s : std)
        if (!(s > 0.0f) || !std::isfinite(s))
            bad("std values must be positive and finite");
    for (float m : mean)
        if (!std::isfinite(m))
            bad("mean values must be finite");
}

bool Preprocessing::operator==(const Preprocessing &o) const
{
    return channels == o.channels && height == o.height && width == o.width && resize == o.resize &&
           resizeTo == o.resizeTo && centerCrop == o.centerCrop && mean == o.mean && std == o.std &&
           randomCropPadding == o.randomCropPadding && horizontalFlip == o.horizontalFlip;
}

namespace {

// Python's round(): halves go to the even neighbour (torchvision computes crop offsets with it).
int roundHalfEven(double v)
{
    const double r = std::nearbyint(v); // default rounding mode: to nearest, ties to even
    return int(r);
}

std::uint64_t splitMix64(std::uint64_t &state)
{
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

cv::Mat toChannels(const RawImage &image, int channels)
{
    const cv::Mat src(image.height, image.width, image.channels == 1 ? CV_8UC1 : CV_8UC3,
                      const_cast<std::uint8_t *>(image.pixels.data()));
    if (image.channels == channels)
        return src;
    if (channels == 3) {
        cv::Mat rgb;
        cv::cvtColor(src, rgb, cv::COLOR_GRAY2RGB);
        return rgb;
    }
    // PIL's convert("L"): L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16 (ITU-R 601-2 luma).
    cv::Mat gray(image.height, image.width, CV_8UC1);
    for (int y = 0; y < image.height; ++y) {
        const std::uint8_t *s = src.ptr<std::uint8_t>(y);
        std::uint8_t *g = gray.ptr<std::uint8_t>(y);
        for (int x = 0; x < image.width; ++x, s += 3)
            g[x] = std::uint8_t((s[0] * 19595u + s[1] * 38470u + s[2] * 7471u + 0x8000u) >> 16);
    }
    return gray;
}

cv::Mat resized(const cv::Mat &m, long long width, long long height, bool nearest)
{
    if (m.cols == width && m.rows == height)
        return m;
    // A 32768x1 image resized to a shorter side of 256 would be 8388608x256 pixels (6 GiB): refuse, do not allocate.
    if (width <= 0 || height <= 0 || std::uint64_t(width) * std::uint64_t(height) > limits::kImagePixels)
        throw Error("Preprocessing: resizing the " + std::to_string(m.cols) + "x" + std::to_string(m.rows) +
                    " image would make it " + std::to_string(width) + "x" + std::to_string(height) +
                    " pixels, outside 1 to the cap of " + std::to_string(limits::kImagePixels) + " pixels");
    cv::Mat out;
    // Area averaging when shrinking approximates torchvision's antialiased bilinear; bilinear when enlarging.
    // Class-index masks must never blend two classes: nearest neighbour, sampled at pixel centres like PIL's.
    const int interpolation = nearest ? cv::INTER_NEAREST_EXACT : (width < m.cols && height < m.rows) ? cv::INTER_AREA : cv::INTER_LINEAR;
    cv::resize(m, out, cv::Size(int(width), int(height)), 0, 0, interpolation);
    return out;
}

// torchvision.transforms.functional.center_crop: zero padding when the image is smaller than the crop.
cv::Mat centerCropped(const cv::Mat &m, int width, int height, int fill)
{
    cv::Mat img = m;
    if (width > img.cols || height > img.rows) {
        const int left = width > img.cols ? (width - img.cols) / 2 : 0;
        const int top = height > img.rows ? (height - img.rows) / 2 : 0;
        const int right = width > img.cols ? (width - img.cols + 1) / 2 : 0;
        const int bottom = height > img.rows ? (height - img.rows + 1) / 2 : 0;
        cv::Mat padded;
        cv::copyMakeBorder(img, padded, top, bottom, left, right, cv::BORDER_CONSTANT, cv::Scalar::all(fill));
        img = padded;
        if (img.cols == width && img.rows == height)
            return img;
    }
    const int top = roundHalfEven((img.rows - height) / 2.0);
    const int left = roundHalfEven((img.cols - width) / 2.0);
    return img(cv::Rect(left, top, width, height));
}

// Resize and center crop of `preprocess`; masks use nearest neighbour and pad with their ignore value.
cv::Mat geometry(cv::Mat img, const Preprocessing &p, bool nearest, int fill)
{
    switch (p.resize) {
    case Preprocessing::Resize::None:
        break;
    case Preprocessing::Resize::Exact:
        if (p.centerCrop && p.resizeTo > 0)
            img = resized(img, p.resizeTo, p.resizeTo, nearest);
        else
            img = resized(img, p.width, p.height, nearest);
        break;
    case Preprocessing::Resize::ShorterSide: {
        // torchvision Resize(int): the shorter side becomes `size`, the longer one int(size * long / short).
        const long long s = p.resizeTo > 0 ? p.resizeTo : p.height;
        if (img.cols <= img.rows)
            img = resized(img, s, s * img.rows / img.cols, nearest);
        else
            img = resized(img, s * img.cols / img.rows, s, nearest);
        break;
    }
    }
    if (p.centerCrop)
        img = centerCropped(img, p.width, p.height, fill);
    if (img.cols != p.width || img.rows != p.height) {
        std::ostringstream message;
        message << "Preprocessing: image is " << img.cols << "x" << img.rows << " after resizing, the model input is "
                << p.width << "x" << p.height << "; choose a resize mode or a center crop";
        throw Error(message.str());
    }
    return img;
}

// Random crop with zero padding, then horizontal flip; draws are fixed in number and order for a seed.
cv::Mat augmented(const cv::Mat &m, const Preprocessing &p, std::uint64_t seed)
{
    std::uint64_t state = seed;
    const std::uint64_t r1 = splitMix64(state), r2 = splitMix64(state), r3 = splitMix64(state);
    const int pad = p.randomCropPadding;
    cv::Mat img = m;
    if (pad > 0) {
        const int dy = int(r1 % std::uint64_t(2 * pad + 1)) - pad;
        const int dx = int(r2 % std::uint64_t(2 * pad + 1)) - pad;
        cv::Mat out(img.rows, img.cols, img.type(), cv::Scalar::all(0));
        // out(y, x) = img(y + dy, x + dx) where inside.
        const int y0 = std::max(0, -dy), y1 = std::min(img.rows, img.rows - dy);
        const int x0 = std::max(0, -dx), x1 = std::min(img.cols, img.cols - dx);
        if (y1 > y0 && x1 > x0)
            img(cv::Rect(x0 + dx, y0 + dy, x1 - x0, y1 - y0)).copyTo(out(cv::Rect(x0, y0, x1 - x0, y1 - y0)));
        img = out;
    }
    if (p.horizontalFlip && (r3 & 1u)) {
        cv::Mat flipped;
        cv::flip(img, flipped, 1);
        img = flipped;
    }
    return img;
}

} // namespace

void preprocess(const RawImage &image, const Preprocessing &p, std::vector<float> &out, bool augment,
                std::uint64_t augmentSeed)
{
    p.validate();
    if (image.channels != 1 && image.channels != 3)
        throw Error("Preprocessing: image has " + std::to_string(image.channels) + " channels (expected 1 or 3)");
    if (image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != std::size_t(image.width) * std::size_t(image.height) * std::size_t(image.channels))
        throw Error("Preprocessing: image of " + std::to_string(image.width) + "x" + std::to_string(image.height) + "x" +
                    std::to_string(image.channels) + " has " + std::to_string(image.pixels.size()) + " pixel bytes");

    cv::Mat img = geometry(toChannels(image, p.channels), p, false, 0);
    if (augment && (p.randomCropPadding > 0 || p.horizontalFlip))
        img = augmented(img, p, augmentSeed);

    // ToTensor + Normalize through a per-channel lookup table: (v / 255 - mean) / std, the same float operations.
    const int c = p.channels;
    std::vector<std::array<float, 256>> table(std::size_t(c), std::array<float, 256>{});
    for (int ch = 0; ch < c; ++ch) {
        const float m = p.mean.size() == 1 ? p.mean[0] : p.mean[std::size_t(ch)];
        const float s = p.std.size() == 1 ? p.std[0] : p.std[std::size_t(ch)];
        for (int v = 0; v < 256; ++v)
            table[std::size_t(ch)][std::size_t(v)] = (float(v) / 255.0f - m) / s;
    }
    const std::size_t plane = std::size_t(p.width) * std::size_t(p.height);
    const std::size_t base = out.size();
    out.resize(base + plane * std::size_t(c));
    float *dst = out.data() + base;
    for (int y = 0; y < p.height; ++y) {
        const std::uint8_t *row = img.ptr<std::uint8_t>(y);
        for (int x = 0; x < p.width; ++x)
            for (int ch = 0; ch < c; ++ch)
                dst[std::size_t(ch) * plane + std::size_t(y) * std::size_t(p.width) + std::size_t(x)] =
                    table[std::size_t(ch)][row[x * c + ch]];
    }
}

void preprocessMask(const RawImage &mask, const Preprocessing &p, std::vector<std::uint8_t> &out)
{
    p.validate();
    if (mask.channels != 1 || mask.width <= 0 || mask.height <= 0 ||
        mask.pixels.size() != std::size_t(mask.width) * std::size_t(mask.height))
        throw Error("Preprocessing: a mask must be one channel of class indices; this one is " + std::to_string(mask.width) +
                    "x" + std::to_string(mask.height) + "x" + std::to_string(mask.channels));
    const cv::Mat src(mask.height, mask.width, CV_8UC1, const_cast<std::uint8_t *>(mask.pixels.data()));
    const cv::Mat m = geometry(src, p, true, kIgnoreClass);
    const std::size_t base = out.size();
    out.resize(base + std::size_t(p.width) * std::size_t(p.height));
    for (int y = 0; y < p.height; ++y)
        std::memcpy(out.data() + base + std::size_t(y) * std::size_t(p.width), m.ptr<std::uint8_t>(y), std::size_t(p.width));
}

} // namespace sparsity
