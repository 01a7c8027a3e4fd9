// IDX datasets (MNIST, Fashion-MNIST, KMNIST, EMNIST): an images file (N x H x W, or N x H x W x C) and an
// optional labels file (N), plain or gzipped.
#include "data/dataset_p.h"
#include "error.h"
#include "data/idx.h"
#include "io/boundedread.h"

#include <algorithm>
#include <sstream>

namespace sparsity::detail {

namespace {

class IdxDataset : public Dataset {
public:
    IdxDataset(const std::string &imagesFile, const std::string &labelsFile, const std::string &classesFile,
               std::string note)
        : m_path(imagesFile), m_labelsPath(labelsFile), m_note(std::move(note))
    {
        m_images = readIdx(imagesFile);
        const auto &dims = m_images.dims;
        if (dims.size() == 3) {
            m_height = int(dims[1]);
            m_width = int(dims[2]);
            m_channels = 1;
        } else if (dims.size() == 4 && (dims[3] == 1 || dims[3] == 3)) {
            m_height = int(dims[1]);
            m_width = int(dims[2]);
            m_channels = int(dims[3]);
        } else {
            std::ostringstream message;
            message << imagesFile << ": not an IDX image file: " << dims.size()
                    << " dimensions (expected N x height x width, or N x height x width x 1 or 3) (at byte offset 3)";
            throw Error(message.str());
        }
        if (m_height == 0 || m_width == 0)
            throw Error(imagesFile + ": images of size " + std::to_string(m_height) + "x" + std::to_string(m_width) +
                        " (at byte offset 8)");
        if (std::uint64_t(m_height) * std::uint64_t(m_width) > limits::kImagePixels)
            throw Error(imagesFile + ": images of " + std::to_string(m_height) + "x" + std::to_string(m_width) +
                        " pixels are more than the cap of " + std::to_string(limits::kImagePixels) +
                        " pixels per image (at byte offset 8)");

        if (labelsFile.empty())
            return;
        IdxArray labels = readIdx(labelsFile);
        if (labels.dims.size() != 1)
            throw Error(labelsFile + ": not an IDX label file: " + std::to_string(labels.dims.size()) +
                        " dimensions (expected 1) (at byte offset 3)");
        if (labels.count() != m_images.count())
            throw Error(labelsFile + ": " + std::to_string(labels.count()) + " labels for " +
                        std::to_string(m_images.count()) + " images in " + imagesFile + " (at byte offset 4)");
        m_classNames = readClassNames(classesFile);
        const int maxLabel = labels.data.empty() ? -1 : *std::max_element(labels.data.begin(), labels.data.end());
        if (m_classNames.empty()) {
            m_classNames = numberedClassNames(std::max(maxLabel + 1, 1));
        } else if (maxLabel >= int(m_classNames.size())) {
            const auto at = std::find_if(labels.data.begin(), labels.data.end(),
                                         [&](std::uint8_t v) { return v >= m_classNames.size(); });
            const std::size_t item = std::size_t(at - labels.data.begin());
            throw Error(labelsFile + ": label " + std::to_string(*at) + " of item " + std::to_string(item) +
                        " is beyond the " + std::to_string(m_classNames.size()) + " classes named in " + classesFile +
                        " (at byte offset " + std::to_string(8 + item) + ")");
        }
        m_labels = std::move(labels.data);
    }

    std::string path() const override { return m_path; }
    std::string format() const override { return "idx"; }
    std::size_t size() const override { return std::size_t(m_images.count()); }
    int label(std::size_t index) const override
    {
        check(index);
        return m_labels.empty() ? -1 : int(m_labels[index]);
    }
    const std::vector<std::string> &classNames() const override { return m_classNames; }
    RawImage image(std::size_t index) const override
    {
        check(index);
        RawImage image;
        image.width = m_width;
        image.height = m_height;
        image.channels = m_channels;
        const std::size_t bytes = std::size_t(m_width) * std::size_t(m_height) * std::size_t(m_channels);
        const auto begin = m_images.data.begin() + std::ptrdiff_t(index * bytes);
        image.pixels.assign(begin, begin + std::ptrdiff_t(bytes));
        return image;
    }
    std::string itemName(std::size_t index) const override { return m_path + "#" + std::to_string(index); }
    std::string describe() const override
    {
        std::ostringstream s;
        s << "IDX: " << size() << " images of " << m_width << "x" << m_height << "x" << m_channels << " from "
          << m_path;
        if (m_labels.empty())
            s << ", unlabelled";
        else
            s << ", " << m_classNames.size() << " classes, labels from " << m_labelsPath;
        if (!m_note.empty())
            s << " (" << m_note << ")";
        return s.str();
    }

private:
    void check(std::size_t index) const
    {
        if (index >= size())
            throw Error(m_path + ": item " + std::to_string(index) + " is out of range (" + std::to_string(size()) +
                        " items)");
    }

    std::string m_path, m_labelsPath, m_note;
    IdxArray m_images;
    int m_width = 0, m_height = 0, m_channels = 1;
    std::vector<std::uint8_t> m_labels;
    std::vector<std::string> m_classNames;
};

} // namespace

std::unique_ptr<Dataset> openIdx(const std::string &imagesFile, const std::string &labelsFile,
                                 const std::string &classesFile, const std::string &note)
{
    return std::make_unique<IdxDataset>(imagesFile, labelsFile, classesFile, note);
}

} // namespace sparsity::detail
