// Folder datasets: ImageFolder (root/class/...), a plain folder of images, images/ + masks/ segmentation pairs.
// Image files are decoded with OpenCV on demand.
#include "data/dataset_p.h"
#include "error.h"
#include "io/boundedread.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

namespace fs = std::filesystem;

namespace sparsity {

namespace {

// OpenCV refuses images above OPENCV_IO_MAX_IMAGE_PIXELS before it allocates them (default 2^30 pixels, 3 GiB
// for RGB). It reads the variable once, at its first decode; this runs before main, while there is one thread.
const bool kDecodeCapSet = [] {
    ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(limits::kImagePixels).c_str(), 0);
    return true;
}();

// A PNG states its size in the IHDR chunk at bytes 16-23: refuse a huge one before anything is decoded.
void checkPngHeader(const std::vector<std::uint8_t> &b, const std::string &path)
{
    static const std::uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (b.size() < 24 || !std::equal(kSignature, kSignature + 8, b.begin()))
        return;
    auto be32 = [&](std::size_t at) {
        return (std::uint64_t(b[at]) << 24) | (std::uint64_t(b[at + 1]) << 16) | (std::uint64_t(b[at + 2]) << 8) |
               std::uint64_t(b[at + 3]);
    };
    const std::uint64_t width = be32(16), height = be32(20);
    if (width * height > limits::kImagePixels)
        throw Error(path + ": a PNG of " + std::to_string(width) + "x" + std::to_string(height) +
                    " pixels, more than the cap of " + std::to_string(limits::kImagePixels) + " pixels per image");
}

// JPEG entropy-coded data stuffs every 0xFF with 0x00, so 0xFF 0xD9 only occurs as the end-of-image marker;
// libjpeg decodes a truncated file into a partly grey image with only a warning.
bool jpegHasEndMarker(const std::vector<std::uint8_t> &b)
{
    for (std::size_t i = b.size(); i-- > 1;)
        if (b[i - 1] == 0xFF && b[i] == 0xD9)
            return true;
    return false;
}

// Masks hold class indices: a 16-bit mask is read unscaled (and must stay within 8 bits), an image is scaled.
cv::Mat decodeMat(const std::string &path, bool classIndices = false)
{
    const std::vector<std::uint8_t> bytes = readBoundedBytes(path, limits::kImageFileBytes, "image");
    if (bytes.empty())
        throw Error(path + ": empty file, not an image");
    checkPngHeader(bytes, path);
    if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF && !jpegHasEndMarker(bytes))
        throw Error(path + ": truncated JPEG (no end-of-image marker in " + std::to_string(bytes.size()) + " bytes)");
    cv::Mat m;
    try {
        m = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception &e) {
        throw Error(path + ": cannot decode image: " + e.what());
    }
    if (m.empty())
        throw Error(path + ": not a readable image (" + std::to_string(bytes.size()) +
                    " bytes that OpenCV cannot decode, or more than " + std::to_string(limits::kImagePixels) +
                    " pixels)");
    if (std::uint64_t(m.cols) * std::uint64_t(m.rows) > limits::kImagePixels)
        throw Error(path + ": an image of " + std::to_string(m.cols) + "x" + std::to_string(m.rows) +
                    " pixels, more than the cap of " + std::to_string(limits::kImagePixels) + " pixels per image");
    if (m.depth() == CV_16U) {
        cv::Mat m8;
        if (classIndices) {
            double largest = 0.0;
            cv::minMaxLoc(m.reshape(1), nullptr, &largest);
            if (largest > 255.0)
                throw Error(path + ": a 16-bit mask with class index " + std::to_string(int(largest)) +
                            "; class indices must be 0-254 (255 = not scored)");
            m.convertTo(m8, CV_8U);
        } else {
            m.convertTo(m8, CV_8U, 1.0 / 257.0);
        }
        m = m8;
    } else if (m.depth() != CV_8U) {
        throw Error(path + ": unsupported pixel type (only 8- and 16-bit images are read)");
    }
    return m;
}

RawImage fromMat(const cv::Mat &m)
{
    RawImage image;
    image.width = m.cols;
    image.height = m.rows;
    image.channels = m.channels();
    image.pixels.resize(std::size_t(m.cols) * std::size_t(m.rows) * std::size_t(image.channels));
    const std::size_t rowBytes = std::size_t(m.cols) * std::size_t(image.channels);
    for (int y = 0; y < m.rows; ++y)
        std::copy_n(m.ptr<std::uint8_t>(y), rowBytes, image.pixels.data() + std::size_t(y) * rowBytes);
    return image;
}

} // namespace

RawImage decodeImageFile(const std::string &path)
{
    cv::Mat m = decodeMat(path);
    cv::Mat out;
    switch (m.channels()) {
    case 1:
        out = m;
        break;
    case 2: // gray + alpha: PIL's convert() drops the alpha
        cv::extractChannel(m, out, 0);
        break;
    case 3:
        cv::cvtColor(m, out, cv::COLOR_BGR2RGB);
        break;
    case 4:
        cv::cvtColor(m, out, cv::COLOR_BGRA2RGB);
        break;
    default:
        throw Error(path + ": image with " + std::to_string(m.channels()) + " channels (expected 1 to 4)");
    }
    return fromMat(out);
}

namespace detail {

namespace {

RawImage decodeMask(const std::string &path)
{
    cv::Mat m = decodeMat(path, true);
    if (m.channels() == 1)
        return fromMat(m);
    // A colour file is accepted only when it is grey (all channels equal): the values are class indices.
    std::vector<cv::Mat> planes;
    cv::split(m, planes);
    for (std::size_t c = 1; c < std::min<std::size_t>(planes.size(), 3); ++c)
        if (cv::countNonZero(planes[c] != planes[0]) != 0)
            throw Error(path + ": a colour mask; expected one channel of class indices (8-bit grayscale PNG)");
    return fromMat(planes[0]);
}

bool hidden(const fs::path &p)
{
    const std::string name = p.filename().string();
    return !name.empty() && name[0] == '.';
}

// Image files directly in `dir`, sorted by name.
std::vector<std::string> imagesIn(const fs::path &dir)
{
    std::vector<std::string> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
         it.increment(ec)) {
        std::error_code entryError;
        if (!hidden(it->path()) && hasImageExtension(it->path().filename().string()) &&
            it->is_regular_file(entryError))
            files.push_back(it->path().string());
    }
    if (ec)
        throw Error(dir.string() + ": cannot list folder: " + ec.message());
    std::sort(files.begin(), files.end());
    return files;
}

// The walk's symlink policy: links to files and folders are followed (datasets are often symlink farms), but a
// folder is entered at most once per walk, identified by device and inode, so a link loop or a second link to
// the same folder adds nothing; folders on the kernel's pseudo file systems (/proc, /sys) are never entered; the
// walk refuses more than kMaxFolders folders or nesting deeper than kMaxDepth.
class FolderWalk {
public:
    static constexpr std::size_t kMaxFolders = 100000;
    static constexpr int kMaxDepth = 64;

    explicit FolderWalk(std::string root) : m_root(std::move(root)) {}

    // Calls `found(folder, fileName)` for the image files below `dir`, folders in name order; stops early when
    // `found` returns false. Returns false when it stopped early.
    bool imagesBelow(const fs::path &dir, const std::function<bool(const std::string &, const std::string &)> &found,
                     int depth = 0)
    {
        if (!enter(dir, depth))
            return true;
        std::vector<fs::path> folders;
        std::vector<std::string> files;
        std::error_code ec;
        for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
             !ec && it != end; it.increment(ec)) {
            if (hidden(it->path()))
                continue;
            std::error_code entryError;
            if (it->is_directory(entryError))
                folders.push_back(it->path());
            else if (hasImageExtension(it->path().filename().string()) && it->is_regular_file(entryError))
                files.push_back(it->path().filename().string());
        }
        if (ec)
            throw Error(dir.string() + ": cannot list folder: " + ec.message());
        std::sort(files.begin(), files.end());
        std::sort(folders.begin(), folders.end());
        for (const auto &f : files)
            if (!found(dir.string(), f))
                return false;
        for (const auto &sub : folders)
            if (!imagesBelow(sub, found, depth + 1))
                return false;
        return true;
    }

private:
    bool enter(const fs::path &dir, int depth)
    {
        struct stat info {};
        if (::stat(dir.c_str(), &info) != 0)
            return false; // a dangling link: nothing below it
        if (!m_visited.insert({std::uint64_t(info.st_dev), std::uint64_t(info.st_ino)}).second)
            return false;
        struct statfs fsInfo {};
        if (::statfs(dir.c_str(), &fsInfo) == 0 &&
            (fsInfo.f_type == PROC_SUPER_MAGIC || fsInfo.f_type == SYSFS_MAGIC || fsInfo.f_type == DEBUGFS_MAGIC))
            return false;
        if (depth > kMaxDepth)
            throw Error(dir.string() + ": folders nested more than " + std::to_string(kMaxDepth) + " levels below " +
                        m_root + "; refusing to walk deeper");
        if (m_visited.size() > kMaxFolders)
            throw Error(m_root + ": more than " + std::to_string(kMaxFolders) +
                        " folders below it, the cap for one dataset; refusing to walk further");
        return true;
    }

    std::string m_root;
    std::set<std::pair<std::uint64_t, std::uint64_t>> m_visited;
};

// Image files below `dir` in torchvision's order: sorted(os.walk(dir)) visits folders sorted by path string,
// each folder's files sorted by name.
std::vector<std::string> imagesBelow(const fs::path &dir, FolderWalk &walk)
{
    std::vector<std::pair<std::string, std::string>> found; // (folder, file name)
    walk.imagesBelow(dir, [&](const std::string &folder, const std::string &name) {
        found.emplace_back(folder, name);
        return true;
    });
    std::sort(found.begin(), found.end());
    std::vector<std::string> files;
    files.reserve(found.size());
    for (const auto &[folder, name] : found)
        files.push_back((fs::path(folder) / name).string());
    return files;
}

std::vector<fs::path> subfolders(const fs::path &dir)
{
    std::vector<fs::path> dirs;
    std::error_code ec;
    for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
         it.increment(ec)) {
        std::error_code entryError;
        if (!hidden(it->path()) && it->is_directory(entryError))
            dirs.push_back(it->path());
    }
    if (ec)
        throw Error(dir.string() + ": cannot list folder: " + ec.message());
    // torchvision: sorted(entry.name ...), i.e. code point order, which is byte order for UTF-8.
    std::sort(dirs.begin(), dirs.end(),
              [](const fs::path &a, const fs::path &b) { return a.filename().string() < b.filename().string(); });
    return dirs;
}

class FileDataset : public Dataset {
public:
    std::string root, kind, description;
    std::vector<std::string> files, masks;
    std::vector<int> labels; // empty when unlabelled
    std::vector<std::string> names;

    std::string path() const override { return root; }
    std::string format() const override { return kind; }
    std::size_t size() const override { return files.size(); }
    int label(std::size_t index) const override
    {
        check(index);
        return labels.empty() ? -1 : labels[index];
    }
    const std::vector<std::string> &classNames() const override { return names; }
    RawImage image(std::size_t index) const override
    {
        check(index);
        return decodeImageFile(files[index]);
    }
    RawImage mask(std::size_t index) const override
    {
        check(index);
        return masks.empty() ? RawImage{} : decodeMask(masks[index]);
    }
    bool hasMasks() const override { return !masks.empty(); }
    std::string itemName(std::size_t index) const override
    {
        check(index);
        return files[index];
    }
    std::string describe() const override { return description; }

private:
    void check(std::size_t index) const
    {
        if (index >= files.size())
            throw Error(root + ": item " + std::to_string(index) + " is out of range (" + std::to_string(size()) +
                        " items)");
    }
};

} // namespace

bool hasClassFolderWithImages(const std::string &dir)
{
    FolderWalk walk(dir);
    for (const auto &sub : subfolders(dir))
        if (!walk.imagesBelow(sub, [](const std::string &, const std::string &) { return false; }))
            return true;
    return false;
}

ClassFolders listClassFolders(const std::string &root)
{
    ClassFolders classes;
    FolderWalk walk(root); // one walk for all classes: a folder linked into two classes counts once
    for (const auto &classDir : subfolders(root)) {
        classes.names.push_back(classDir.filename().string());
        classes.files.push_back(imagesBelow(classDir, walk));
    }
    return classes;
}

bool ClassFolders::anyImages() const
{
    return std::any_of(files.begin(), files.end(), [](const auto &f) { return !f.empty(); });
}

std::unique_ptr<Dataset> openImageFolder(const std::string &root, const ClassFolders &classes, const std::string &note)
{
    auto d = std::make_unique<FileDataset>();
    d->root = root;
    d->kind = "imagefolder";
    std::vector<std::string> empty;
    for (std::size_t c = 0; c < classes.names.size(); ++c) {
        const auto &files = classes.files[c];
        if (files.empty()) {
            empty.push_back(classes.names[c]);
            continue;
        }
        const int label = int(d->names.size());
        d->names.push_back(classes.names[c]);
        for (const auto &f : files) {
            d->files.push_back(f);
            d->labels.push_back(label);
        }
    }
    if (!empty.empty()) {
        std::string list;
        for (const auto &e : empty)
            list += (list.empty() ? "" : ", ") + e;
        throw Error(root + ": class folders without images: " + list + " (looked for " + imageExtensionList() +
                    "); remove them or add images, the class numbering depends on them");
    }
    if (d->files.empty())
        throw Error(root + ": no class folders with images (looked for " + imageExtensionList() + ")");
    const std::size_t loose = imagesIn(root).size();
    std::ostringstream s;
    s << "ImageFolder: " << d->files.size() << " images in " << d->names.size() << " classes from " << root;
    if (loose > 0)
        s << " (" << loose << " images directly in the root are not in any class and are ignored)";
    if (!note.empty())
        s << " (" << note << ")";
    d->description = s.str();
    return d;
}

std::unique_ptr<Dataset> openFlatFolder(const std::string &root)
{
    auto d = std::make_unique<FileDataset>();
    d->root = root;
    d->kind = "folder";
    d->files = imagesIn(root);
    if (d->files.empty())
        throw Error(root + ": no images (looked for " + imageExtensionList() + ")");
    d->description = "Image folder: " + std::to_string(d->files.size()) + " unlabelled images from " + root;
    return d;
}

std::unique_ptr<Dataset> openSegmentation(const std::string &root)
{
    auto d = std::make_unique<FileDataset>();
    d->root = root;
    d->kind = "segmentation";
    const fs::path imagesDir = fs::path(root) / "images", masksDir = fs::path(root) / "masks";
    const auto images = imagesIn(imagesDir);
    std::map<std::string, std::string> maskByStem;
    for (const auto &m : imagesIn(masksDir)) {
        const std::string stem = fs::path(m).stem().string();
        // Prefer a lossless mask when several files share a stem.
        const auto it = maskByStem.find(stem);
        if (it == maskByStem.end() || lowerCase(fs::path(m).extension().string()) == ".png")
            maskByStem[stem] = m;
    }
    std::size_t withoutMask = 0;
    for (const auto &image : images) {
        const auto it = maskByStem.find(fs::path(image).stem().string());
        if (it == maskByStem.end()) {
            ++withoutMask;
            continue;
        }
        d->files.push_back(image);
        d->masks.push_back(it->second);
    }
    if (images.empty())
        throw Error(imagesDir.string() + ": no images (looked for " + imageExtensionList() + ")");
    if (d->files.empty())
        throw Error(root + ": none of the " + std::to_string(images.size()) + " images in images/ has a mask in " +
                    "masks/ with the same file name stem (" + std::to_string(maskByStem.size()) + " masks found)");
    std::ostringstream s;
    s << "Segmentation: " << d->files.size() << " image/mask pairs from " << root;
    if (withoutMask > 0)
        s << " (" << withoutMask << " images without a mask are left out)";
    d->description = s.str();
    return d;
}

} // namespace detail
} // namespace sparsity
