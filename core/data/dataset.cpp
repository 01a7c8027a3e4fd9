// openDataset(): format detection from a file or folder; subsets; shared helpers of the dataset formats.
#include "data/dataset.h"
#include "data/dataset_p.h"
#include "error.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

namespace fs = std::filesystem;

namespace sparsity {

RawImage Dataset::mask(std::size_t) const
{
    return {};
}

std::string Dataset::describe() const
{
    std::ostringstream s;
    s << format() << ": " << size() << " images";
    if (labelled())
        s << ", " << classNames().size() << " classes";
    else
        s << ", unlabelled";
    s << ", from " << path();
    return s.str();
}

namespace detail {

namespace {
const char *const kImageExtensions[] = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"};
}

std::string lowerCase(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::string fileName(const std::string &path)
{
    return fs::path(path).filename().string();
}

bool hasImageExtension(const std::string &name)
{
    const std::string ext = lowerCase(fs::path(name).extension().string());
    return std::find(std::begin(kImageExtensions), std::end(kImageExtensions), ext) != std::end(kImageExtensions);
}

std::string imageExtensionList()
{
    std::string list;
    for (const char *e : kImageExtensions)
        list += (list.empty() ? "" : " ") + std::string(e);
    return list;
}

std::vector<std::string> readClassNames(const std::string &file)
{
    std::vector<std::string> names;
    std::ifstream in(file);
    if (!in)
        return names;
    std::string line;
    while (std::getline(in, line)) {
        const auto first = line.find_first_not_of(" \t\r\n");
        const auto last = line.find_last_not_of(" \t\r\n");
        names.push_back(first == std::string::npos ? std::string() : line.substr(first, last - first + 1));
    }
    while (!names.empty() && names.back().empty())
        names.pop_back();
    return names;
}

std::vector<std::string> numberedClassNames(int count)
{
    std::vector<std::string> names;
    for (int i = 0; i < count; ++i)
        names.push_back(std::to_string(i));
    return names;
}

} // namespace detail

namespace {

using namespace detail;

const char *const kLookedFor =
    "looked for IDX files (*-images-idx3-ubyte[.gz] with *-labels-idx1-ubyte[.gz]), CIFAR-10 binaries "
    "(data_batch_*.bin, test_batch.bin), CIFAR-100 binaries (train.bin, test.bin), images/ + masks/ folders "
    "(segmentation), class folders with images (ImageFolder), or images directly in the folder";

enum class SplitOf { Train, Test, Unknown };

SplitOf splitOf(const std::string &name)
{
    const std::string n = lowerCase(name);
    if (n.find("train") != std::string::npos)
        return SplitOf::Train;
    if (n.find("t10k") != std::string::npos || n.find("test") != std::string::npos)
        return SplitOf::Test;
    return SplitOf::Unknown;
}

bool replaceFirst(std::string &s, const std::string &from, const std::string &to)
{
    const auto at = s.find(from);
    if (at == std::string::npos)
        return false;
    s.replace(at, from.size(), to);
    return true;
}

bool endsWith(const std::string &s, const std::string &suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool isFile(const fs::path &p)
{
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

// "x-images-idx3-ubyte[.gz]" <-> "x-labels-idx1-ubyte[.gz]"; the partner may be gzipped or not.
std::string idxPartner(const std::string &file, bool toLabels)
{
    const fs::path p(file);
    std::string name = p.filename().string();
    const bool ok = toLabels ? (replaceFirst(name, "images", "labels") && replaceFirst(name, "idx3", "idx1"))
                             : (replaceFirst(name, "labels", "images") && replaceFirst(name, "idx1", "idx3"));
    if (!ok)
        return {};
    const std::string plain = endsWith(name, ".gz") ? name.substr(0, name.size() - 3) : name;
    for (const std::string &candidate : {plain, plain + ".gz"})
        if (isFile(p.parent_path() / candidate))
            return (p.parent_path() / candidate).string();
    return {};
}

std::unique_ptr<Dataset> openIdxImages(const std::string &imagesFile, const std::string &note)
{
    const std::string labels = idxPartner(imagesFile, true);
    std::string fullNote = note;
    if (labels.empty())
        fullNote += std::string(fullNote.empty() ? "" : "; ") + "no labels file beside it";
    const std::string classes = (fs::path(imagesFile).parent_path() / "classes.txt").string();
    return openIdx(imagesFile, labels, classes, fullNote);
}

std::unique_ptr<Dataset> openIdxFile(const std::string &file)
{
    const std::string name = lowerCase(fileName(file));
    if (name.find("idx1") != std::string::npos) {
        const std::string images = idxPartner(file, false);
        if (images.empty())
            throw Error(file + ": an IDX labels file without its images file (looked for " +
                        [&] {
                            std::string n = fileName(file);
                            replaceFirst(n, "labels", "images");
                            replaceFirst(n, "idx1", "idx3");
                            return n;
                        }() +
                        " beside it)");
        return openIdxImages(images, {});
    }
    return openIdxImages(file, {});
}

int cifarLabelBytes(const std::string &file)
{
    const std::string name = lowerCase(fileName(file));
    if (name == "test_batch.bin" || name.rfind("data_batch_", 0) == 0)
        return 1;
    if (name == "train.bin" || name == "test.bin")
        return 2;
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    const bool ten = !ec && size > 0 && size % 3073 == 0, hundred = !ec && size > 0 && size % 3074 == 0;
    if (ten != hundred)
        return ten ? 1 : 2;
    throw Error(file + ": cannot tell whether this is a CIFAR-10 or CIFAR-100 binary (" + std::to_string(size) +
                " bytes; looked for data_batch_*.bin / test_batch.bin, train.bin / test.bin, or a size that is a "
                "multiple of 3073 or 3074 bytes)");
}

const char *splitName(Split s)
{
    return s == Split::Train ? "training" : "test";
}

std::unique_ptr<Dataset> openIdxFolder(const fs::path &dir, const std::vector<std::string> &candidates,
                                       const DatasetOptions &options)
{
    // Prefer the uncompressed copy when both are present.
    std::vector<std::string> unique;
    for (const auto &c : candidates) {
        const std::string name = fileName(c);
        if (endsWith(name, ".gz") &&
            std::find(candidates.begin(), candidates.end(), (dir / name.substr(0, name.size() - 3)).string()) !=
                candidates.end())
            continue;
        unique.push_back(c);
    }
    std::vector<std::string> matching, unknown, other;
    const SplitOf wanted = options.split == Split::Train ? SplitOf::Train : SplitOf::Test;
    for (const auto &c : unique) {
        const SplitOf s = splitOf(fileName(c));
        (s == wanted ? matching : s == SplitOf::Unknown ? unknown : other).push_back(c);
    }
    if (matching.empty() && unknown.size() == 1 && other.empty())
        matching = unknown;
    auto list = [](const std::vector<std::string> &files) {
        std::string s;
        for (const auto &f : files)
            s += (s.empty() ? "" : ", ") + fileName(f);
        return s;
    };
    if (matching.empty())
        throw Error(dir.string() + ": no IDX images of the " + splitName(options.split) +
                    " split (looked for *" + (options.split == Split::Train ? "train" : "t10k or test") +
                    "*-images-idx3-ubyte[.gz]); found " + list(unique));
    if (matching.size() > 1)
        throw Error(dir.string() + ": several IDX image files of the " + splitName(options.split) + " split (" +
                    list(matching) + "); open one of the files");
    return openIdxImages(matching.front(), std::string(splitName(options.split)) + " split");
}

std::unique_ptr<Dataset> openCifarFolder(const fs::path &dir, const std::vector<std::string> &batches,
                                         const DatasetOptions &options)
{
    std::vector<std::string> files;
    if (!batches.empty()) { // CIFAR-10
        if (options.split == Split::Test) {
            if (isFile(dir / "test_batch.bin"))
                files.push_back((dir / "test_batch.bin").string());
        } else {
            std::vector<std::pair<long, std::string>> numbered;
            for (const auto &b : batches) {
                const std::string name = fileName(b);
                if (name.rfind("data_batch_", 0) == 0)
                    numbered.emplace_back(std::strtol(name.c_str() + 11, nullptr, 10), b);
            }
            std::sort(numbered.begin(), numbered.end());
            for (const auto &n : numbered)
                files.push_back(n.second);
        }
        if (files.empty())
            throw Error(dir.string() + ": CIFAR-10 folder without the " + splitName(options.split) + " split (looked for " +
                        (options.split == Split::Test ? "test_batch.bin" : "data_batch_*.bin") + ")");
        return openCifar(files, 1, options.cifar100Labels, dir.string());
    }
    const fs::path file = dir / (options.split == Split::Train ? "train.bin" : "test.bin");
    if (!isFile(file))
        throw Error(dir.string() + ": CIFAR-100 folder without the " + splitName(options.split) + " split (looked for " +
                    file.filename().string() + ")");
    return openCifar({file.string()}, 2, options.cifar100Labels, dir.string());
}

std::unique_ptr<Dataset> openFolder(const fs::path &dir, const DatasetOptions &options, int depth)
{
    std::vector<std::string> files, idxImages, cifar10, dirs;
    bool cifar100 = false;
    std::error_code ec;
    for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
         it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.')
            continue;
        std::error_code entryError;
        if (it->is_directory(entryError)) {
            dirs.push_back(name);
            continue;
        }
        files.push_back(name);
        const std::string lower = lowerCase(name);
        if (lower.find("idx3-ubyte") != std::string::npos || lower.find("idx3.ubyte") != std::string::npos)
            idxImages.push_back((dir / name).string());
        else if (lower == "test_batch.bin" || (lower.rfind("data_batch_", 0) == 0 && endsWith(lower, ".bin")))
            cifar10.push_back((dir / name).string());
        else if (lower == "train.bin" || lower == "test.bin")
            cifar100 = true;
    }
    if (ec)
        throw Error(dir.string() + ": cannot list folder: " + ec.message());
    std::sort(files.begin(), files.end());
    std::sort(dirs.begin(), dirs.end());
    if (files.empty() && dirs.empty())
        throw Error(dir.string() + ": the folder is empty (" + kLookedFor + ")");

    if (!idxImages.empty())
        return openIdxFolder(dir, idxImages, options);
    if (!cifar10.empty() || cifar100)
        return openCifarFolder(dir, cifar10, options);
    auto hasDir = [&](const std::string &name) { return std::find(dirs.begin(), dirs.end(), name) != dirs.end(); };
    if (hasDir("images") && hasDir("masks"))
        return openSegmentation(dir.string());
    // The archives' own folder names: cifar-10-batches-bin/, cifar-100-binary/.
    if (depth == 0 && files.empty() && dirs.size() == 1 &&
        (dirs[0] == "cifar-10-batches-bin" || dirs[0] == "cifar-100-binary"))
        return openFolder(dir / dirs[0], options, depth + 1);
    // root/train/<class>/..., root/val/<class>/... (the ImageNet layout): the split picks the folder.
    if (hasDir("train")) {
        for (const char *test : {"val", "test", "valid", "validation"}) {
            if (!hasDir(test))
                continue;
            const fs::path chosen = options.split == Split::Train ? dir / "train" : dir / test;
            if (!hasClassFolderWithImages((dir / "train").string()))
                break;
            const ClassFolders classes = listClassFolders(chosen.string());
            if (classes.anyImages())
                return openImageFolder(chosen.string(), classes,
                                       std::string(splitName(options.split)) + " split: " + chosen.filename().string() +
                                           "/");
        }
    }
    if (const ClassFolders classes = listClassFolders(dir.string()); classes.anyImages())
        return openImageFolder(dir.string(), classes, {});
    if (std::any_of(files.begin(), files.end(), [](const std::string &f) { return hasImageExtension(f); }))
        return openFlatFolder(dir.string());

    std::ostringstream found;
    found << "found " << files.size() << " files";
    for (std::size_t i = 0; i < std::min<std::size_t>(files.size(), 3); ++i)
        found << (i == 0 ? ": " : ", ") << files[i];
    if (files.size() > 3)
        found << ", ...";
    found << " and " << dirs.size() << " folders without images";
    throw Error(dir.string() + ": no dataset found; " + kLookedFor + " (" + imageExtensionList() + "); " + found.str());
}

} // namespace

std::unique_ptr<Dataset> openDataset(const std::string &path, Split split)
{
    DatasetOptions options;
    options.split = split;
    return openDataset(path, options);
}

std::unique_ptr<Dataset> openDataset(const std::string &path, const DatasetOptions &options)
{
    if (path.empty())
        throw Error("No dataset path given");
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status))
        throw Error(path + ": no such file or folder");
    if (fs::is_directory(status))
        return openFolder(fs::path(path), options, 0);

    const std::string name = lowerCase(fileName(path));
    if (name.find("idx") != std::string::npos && name.find("ubyte") != std::string::npos)
        return openIdxFile(path);
    if (endsWith(name, ".bin")) {
        const int labelBytes = cifarLabelBytes(path);
        return openCifar({path}, labelBytes, options.cifar100Labels, fs::path(path).parent_path().string());
    }
    if (hasImageExtension(name))
        throw Error(path + ": a single image; open the folder that contains it");
    throw Error(path + ": unknown dataset file; looked for an IDX file (*-images-idx3-ubyte[.gz]) or a CIFAR "
                       "binary (*.bin), or a folder");
}

// ---- Subsets ----

namespace {

struct Rng {
    std::uint64_t state;
    std::uint64_t next()
    {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n) by multiply-shift; the same numbers on every platform.
    std::size_t below(std::size_t n) { return std::size_t((unsigned __int128)next() * n >> 64); }
};

// n of `pool` chosen at random (partial Fisher-Yates), ascending.
std::vector<std::size_t> sample(std::vector<std::size_t> pool, std::size_t n, Rng &rng)
{
    n = std::min(n, pool.size());
    for (std::size_t i = 0; i < n; ++i)
        std::swap(pool[i], pool[i + rng.below(pool.size() - i)]);
    pool.resize(n);
    std::sort(pool.begin(), pool.end());
    return pool;
}

} // namespace

Preprocessing impliedPreprocessing(const Dataset &d)
{
    const std::string format = d.format();
    if (format == "idx" && d.size() > 0) {
        const RawImage first = d.image(0);
        Preprocessing p; // ToTensor only: no statistics are known for an arbitrary IDX file
        p.resize = Preprocessing::Resize::Exact;
        p.channels = first.channels == 3 ? 3 : 1;
        p.height = first.height;
        p.width = first.width;
        return p;
    }
    if (format.rfind("cifar", 0) == 0)
        return Preprocessing::cifar32();
    return Preprocessing::imagenet224();
}

std::vector<std::size_t> firstN(const Dataset &d, std::size_t n)
{
    std::vector<std::size_t> indices(std::min(n, d.size()));
    std::iota(indices.begin(), indices.end(), std::size_t(0));
    return indices;
}

std::vector<std::size_t> randomN(const Dataset &d, std::size_t n, std::uint64_t seed)
{
    if (n >= d.size())
        return firstN(d, n);
    std::vector<std::size_t> all(d.size());
    std::iota(all.begin(), all.end(), std::size_t(0));
    Rng rng{seed};
    return sample(std::move(all), n, rng);
}

namespace {

// n of `candidates` (ascending dataset indices) in the class proportions of the candidates.
std::vector<std::size_t> stratifiedFrom(const Dataset &d, const std::vector<std::size_t> &candidates, std::size_t n,
                                        std::uint64_t seed)
{
    const std::size_t classes = d.classNames().size();
    std::vector<std::vector<std::size_t>> byClass(classes);
    for (std::size_t i : candidates) {
        const int label = d.label(i);
        if (label >= 0 && std::size_t(label) < classes)
            byClass[std::size_t(label)].push_back(i);
    }
    std::size_t total = 0;
    for (const auto &c : byClass)
        total += c.size();
    n = std::min(n, total);
    if (n == 0)
        return {};
    // Largest remainder: floor(n * share) per class, the rest to the largest fractional parts (lower class first).
    std::vector<std::size_t> quota(classes);
    std::vector<std::pair<std::size_t, std::size_t>> remainders; // (remainder numerator, class)
    std::size_t assigned = 0;
    for (std::size_t c = 0; c < classes; ++c) {
        const unsigned __int128 exact = (unsigned __int128)n * byClass[c].size();
        quota[c] = std::size_t(exact / total);
        remainders.emplace_back(std::size_t(exact % total), c);
        assigned += quota[c];
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto &a, const auto &b) { return a.first > b.first; });
    for (std::size_t i = 0; assigned < n && i < remainders.size(); ++i) {
        if (quota[remainders[i].second] < byClass[remainders[i].second].size()) {
            ++quota[remainders[i].second];
            ++assigned;
        }
    }
    Rng rng{seed};
    std::vector<std::size_t> result;
    for (std::size_t c = 0; c < classes; ++c) {
        const auto chosen = sample(byClass[c], quota[c], rng);
        result.insert(result.end(), chosen.begin(), chosen.end());
    }
    std::sort(result.begin(), result.end());
    return result;
}

} // namespace

std::vector<std::size_t> stratifiedN(const Dataset &d, std::size_t n, std::uint64_t seed)
{
    if (!d.labelled())
        throw Error(d.path() + ": a stratified subset needs class labels, and this dataset is unlabelled");
    if (n >= d.size())
        return firstN(d, n);
    return stratifiedFrom(d, firstN(d, d.size()), n, seed);
}

std::vector<std::size_t> stratifiedSlice(const Dataset &d, const std::vector<std::size_t> &indices, std::size_t n)
{
    if (n >= indices.size())
        return indices;
    if (d.labelled()) {
        std::vector<std::size_t> sorted = indices;
        std::sort(sorted.begin(), sorted.end());
        auto slice = stratifiedFrom(d, sorted, n, 0);
        if (!slice.empty())
            return slice;
    }
    std::vector<std::size_t> spaced; // unlabelled: evenly spaced over the subset
    for (std::size_t k = 0; k < n; ++k)
        spaced.push_back(indices[k * indices.size() / n]);
    return spaced;
}

} // namespace sparsity
