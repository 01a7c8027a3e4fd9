#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sparsity {

// How images become model input. Saved with the project.
struct Preprocessing {
    enum class Resize { None, Exact, ShorterSide };
    int channels = 1;          // 1 = grayscale, 3 = RGB (OpenCV decodes BGR: converted)
    int height = 28, width = 28; // model input size (after crop)
    Resize resize = Resize::Exact;
    int resizeTo = 0;          // ShorterSide: length of the shorter side before the center crop (0 = height)
    bool centerCrop = false;
    std::vector<float> mean{0.0f}; // per channel, applied after scaling to [0, 1]
    std::vector<float> std{1.0f};
    // Training-split augmentation for fine-tuning.
    int randomCropPadding = 0;
    bool horizontalFlip = false;

    static Preprocessing imagenet224();
    static Preprocessing cifar32();
    static Preprocessing mnistLike28();

    // Throws sparsity::Error saying which setting is invalid (channels not 1 or 3, empty size, mean/std
    // count neither 1 nor `channels`, a zero std, ...).
    void validate() const;
    bool operator==(const Preprocessing &other) const;
    bool operator!=(const Preprocessing &other) const { return !(*this == other); }
};

// A decoded image before preprocessing: 8-bit, HWC, 1 or 3 channels (RGB order).
struct RawImage {
    int width = 0, height = 0, channels = 0;
    std::vector<std::uint8_t> pixels;
};

// A labelled (or unlabelled) image collection with random access. Implementations must be safe to
// call `image()` from several threads at once.
class Dataset {
public:
    virtual ~Dataset() = default;
    virtual std::string path() const = 0;
    virtual std::string format() const = 0;   // "idx", "cifar10", "cifar100", "imagefolder", "folder", "segmentation"
    virtual std::size_t size() const = 0;
    virtual int label(std::size_t index) const = 0; // -1 when unlabelled
    virtual const std::vector<std::string> &classNames() const = 0; // empty when unlabelled
    // Throws sparsity::Error naming the file when the image cannot be decoded.
    virtual RawImage image(std::size_t index) const = 0;
    virtual std::string itemName(std::size_t index) const = 0; // file path or "file.idx#123"
    // Segmentation datasets: the class-index mask of an item (empty otherwise).
    virtual RawImage mask(std::size_t index) const;
    virtual bool hasMasks() const { return false; }
    // One line for the user: format, item and class counts, the files actually used, anything left out.
    virtual std::string describe() const;
    bool labelled() const { return !classNames().empty(); }
};

enum class Split { Train, Test };

struct DatasetOptions {
    Split split = Split::Test;
    // CIFAR-100 binaries carry both a coarse (20 superclasses) and a fine (100 classes) label.
    enum class CifarLabels { Fine, Coarse };
    CifarLabels cifar100Labels = CifarLabels::Fine;
};

// Opens a dataset from a file or folder, detecting the format (IDX, CIFAR-10/100 binary, ImageFolder,
// plain image folder, images/+masks/ segmentation pairs). Throws sparsity::Error saying what was looked for.
std::unique_ptr<Dataset> openDataset(const std::string &path, Split split = Split::Test);
std::unique_ptr<Dataset> openDataset(const std::string &path, const DatasetOptions &options);

// Decodes one image file (any format OpenCV reads) into RGB or grayscale 8-bit. Throws sparsity::Error
// naming the file when it cannot be read, is not an image, or is a truncated JPEG.
RawImage decodeImageFile(const std::string &path);

// Preprocesses one image into CHW float (channels x height x width), appended to `out`.
// Order: to `channels` (RGB->gray uses ITU-R 601 luma, like PIL), resize, center crop (zero padding when the
// image is smaller, as torchvision), augmentation (random crop with zero padding, horizontal flip; only when
// `augment`, deterministic for `augmentSeed`), /255, (x - mean) / std. Throws sparsity::Error when the result
// would not be height x width (e.g. Resize::None without crop on an image of another size).
void preprocess(const RawImage &image, const Preprocessing &p, std::vector<float> &out,
                bool augment = false, std::uint64_t augmentSeed = 0);

// Segmentation masks: class indices, this value marks pixels that are not scored (VOC's "void" border).
inline constexpr std::uint8_t kIgnoreClass = 255;

// The resize and center crop of `preprocess` applied to a class-index mask (nearest neighbour, padding with
// kIgnoreClass), appended to `out` as height x width bytes. No augmentation: masks are for evaluation.
void preprocessMask(const RawImage &mask, const Preprocessing &p, std::vector<std::uint8_t> &out);

// What a dataset implies for a model that does not say (no metadata): IDX images at their own size and channel
// count scaled to [0, 1]; CIFAR 3x32x32 with CIFAR statistics; anything else (photos, segmentation pairs)
// ImageNet's 3x224x224 (resize 256, center crop) with ImageNet mean and std.
Preprocessing impliedPreprocessing(const Dataset &d);

// Subsets: deterministic lists of indices into a dataset, ascending. n larger than the dataset gives all.
// stratifiedN keeps the class proportions (largest remainder) and throws sparsity::Error when unlabelled.
std::vector<std::size_t> firstN(const Dataset &d, std::size_t n);
std::vector<std::size_t> randomN(const Dataset &d, std::size_t n, std::uint64_t seed);
std::vector<std::size_t> stratifiedN(const Dataset &d, std::size_t n, std::uint64_t seed);
// n of a subset's `indices` in the subset's class proportions (evenly spaced when unlabelled), ascending: the
// explorer's quick first evaluation.
std::vector<std::size_t> stratifiedSlice(const Dataset &d, const std::vector<std::size_t> &indices, std::size_t n);

// One batch of model input.
struct Batch {
    std::vector<float> data; // N x C x H x W, contiguous
    int n = 0, c = 0, h = 0, w = 0;
    std::vector<int> labels;           // -1 when unlabelled
    std::vector<std::size_t> indices;  // dataset indices of the images in this batch
    std::vector<std::uint8_t> masks;   // N x H x W class indices for segmentation datasets, else empty
};

// Decodes and preprocesses batches in parallel ahead of the consumer through a bounded queue.
// Unreadable images are skipped and counted, never silently replaced.
class BatchLoader {
public:
    struct Options {
        std::size_t batchSize = 64;
        int workers = 2;
        std::size_t prefetchBatches = 4;
        bool augment = false;
        std::uint64_t seed = 0;
    };
    BatchLoader(const Dataset &dataset, Preprocessing preprocessing, std::vector<std::size_t> indices, Options options);
    ~BatchLoader();
    BatchLoader(const BatchLoader &) = delete;
    BatchLoader &operator=(const BatchLoader &) = delete;

    // Next batch in index order; false when all batches were delivered. Skipped images make a batch smaller;
    // a batch whose images were all skipped is not delivered. Throws sparsity::Error from the constructor when
    // an index is out of range or the preprocessing is invalid.
    bool next(Batch &batch);
    std::size_t batchCount() const;
    std::size_t skippedCount() const;
    std::vector<std::string> skippedExamples() const; // the first few unreadable items with the reason

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace sparsity
