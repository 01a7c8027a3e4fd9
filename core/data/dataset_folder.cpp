// Folder datasets: ImageFolder (root/class/...), a plain folder of images, images/ + masks/ segmentation pairs.
// Image files are decoded with OpenCV on demand.
#include "data/dataset_p.h"
#include "error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = std::filesystem;

namespace sparsity {

namespace {

std::vector<std::uint8_t> readBytes(const std::string &path)
{
    std::ifstream file(path, std::ios::binary | std::ios::ate);
    if (!file)
        throw Error(path + ": cannot open file");
    const std::streamoff size = file.tellg();
    if (size < 0)
        throw Error(path + ": cannot read file");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    file.seekg(0);
    if (size > 0 && !file.read(reinterpret_cast<char *>(bytes.data()), size))
        throw Error(path + ": cannot read file");
    return bytes;
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
    const std::vector<std::uint8_t> bytes = readBytes(path);
    if (bytes.empty())
        throw Error(path + ": empty file, not an image");
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
                    " bytes that OpenCV cannot decode)");
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

// Image files below `dir` in torchvision's order: sorted(os.walk(dir)) visits folders sorted by path string,
// each folder's files sorted by name.
std::vector<std::string> imagesBelow(const fs::path &dir)
{
    std::vector<std::pair<std::string, std::string>> found; // (folder, file name)
    std::error_code ec;
    fs::recursive_directory_iterator it(
        dir, fs::directory_options::skip_permission_denied | fs::directory_options::follow_directory_symlink, ec);
    for (fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
        std::error_code entryError;
        if (hidden(it->path())) {
            if (it->is_directory(entryError))
                it.disable_recursion_pending();
            continue;
        }
        if (it.depth() >= 16) // guards against symlink loops
            it.disable_recursion_pending();
        if (hasImageExtension(it->path().filename().string()) && it->is_regular_file(entryError))
            found.emplace_back(it->path().parent_path().string(), it->path().filename().string());
    }
    if (ec)
        throw Error(dir.string() + ": cannot list folder: " + ec.message());
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

bool looksLikeImageFolder(const std::string &dir)
{
    for (const auto &sub : subfolders(dir))
        if (!imagesBelow(sub).empty())
            return true;
    return false;
}

std::unique_ptr<Dataset> openImageFolder(const std::string &root, const std::string &note)
{
    auto d = std::make_unique<FileDataset>();
    d->root = root;
    d->kind = "imagefolder";
    std::vector<std::string> empty;
    for (const auto &classDir : subfolders(root)) {
        const auto files = imagesBelow(classDir);
        if (files.empty()) {
            empty.push_back(classDir.filename().string());
            continue;
        }
        const int label = int(d->names.size());
        d->names.push_back(classDir.filename().string());
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
