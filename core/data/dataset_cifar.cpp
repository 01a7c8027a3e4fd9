// CIFAR-10 and CIFAR-100 binary versions.
#include "data/cifar.h"
#include "data/dataset_p.h"
#include "error.h"

#include <filesystem>
#include <sstream>

namespace sparsity::detail {

namespace {

class CifarDataset : public Dataset {
public:
    CifarDataset(const std::vector<std::string> &files, int labelBytes, DatasetOptions::CifarLabels which,
                 const std::string &folder)
        : m_files(files), m_labelBytes(labelBytes)
    {
        namespace fs = std::filesystem;
        m_labelIndex = (labelBytes == 2 && which == DatasetOptions::CifarLabels::Fine) ? 1 : 0;
        std::size_t total = 0;
        for (const auto &f : files) {
            m_data.push_back(readCifar(f, labelBytes));
            total += m_data.back().count;
            m_ends.push_back(total);
        }
        int classCount = 10;
        std::string namesFile;
        if (labelBytes == 1) {
            namesFile = (fs::path(folder) / "batches.meta.txt").string();
        } else if (m_labelIndex == 1) {
            classCount = 100;
            namesFile = (fs::path(folder) / "fine_label_names.txt").string();
        } else {
            classCount = 20;
            namesFile = (fs::path(folder) / "coarse_label_names.txt").string();
        }
        m_classNames = readClassNames(namesFile);
        if (m_classNames.empty()) {
            m_classNames = numberedClassNames(classCount);
            m_namesNote = "no " + fileName(namesFile) + ": classes are numbered";
        } else if (int(m_classNames.size()) != classCount) {
            throw Error(namesFile + ": " + std::to_string(m_classNames.size()) + " class names, expected " +
                        std::to_string(classCount));
        }
    }

    std::string path() const override { return m_files.size() == 1 ? m_files.front() : fileDir(); }
    std::string format() const override { return m_labelBytes == 1 ? "cifar10" : "cifar100"; }
    std::size_t size() const override { return m_ends.empty() ? 0 : m_ends.back(); }
    int label(std::size_t index) const override
    {
        const auto [file, record] = locate(index);
        return m_data[file].label(record, m_labelIndex);
    }
    const std::vector<std::string> &classNames() const override { return m_classNames; }
    RawImage image(std::size_t index) const override
    {
        const auto [file, record] = locate(index);
        constexpr int kPlane = CifarFile::kSide * CifarFile::kSide;
        const std::uint8_t *planes = m_data[file].planes(record);
        RawImage image;
        image.width = image.height = CifarFile::kSide;
        image.channels = 3;
        image.pixels.resize(3 * kPlane);
        for (int i = 0; i < kPlane; ++i)
            for (int c = 0; c < 3; ++c)
                image.pixels[std::size_t(3 * i + c)] = planes[c * kPlane + i];
        return image;
    }
    std::string itemName(std::size_t index) const override
    {
        const auto [file, record] = locate(index);
        return m_files[file] + "#" + std::to_string(record);
    }
    std::string describe() const override
    {
        std::ostringstream s;
        s << (m_labelBytes == 1 ? "CIFAR-10" : "CIFAR-100") << ": " << size() << " images of 32x32x3, "
          << m_classNames.size() << (m_labelBytes == 2 ? (m_labelIndex == 1 ? " fine" : " coarse") : "")
          << " classes, from";
        for (const auto &f : m_files)
            s << " " << f;
        if (!m_namesNote.empty())
            s << " (" << m_namesNote << ")";
        return s.str();
    }

private:
    std::string fileDir() const { return std::filesystem::path(m_files.front()).parent_path().string(); }
    std::pair<std::size_t, std::size_t> locate(std::size_t index) const
    {
        for (std::size_t f = 0; f < m_ends.size(); ++f)
            if (index < m_ends[f])
                return {f, index - (f == 0 ? 0 : m_ends[f - 1])};
        throw Error(path() + ": item " + std::to_string(index) + " is out of range (" + std::to_string(size()) +
                    " items)");
    }

    std::vector<std::string> m_files;
    int m_labelBytes = 1;
    int m_labelIndex = 0;
    std::vector<CifarFile> m_data;
    std::vector<std::size_t> m_ends;
    std::vector<std::string> m_classNames;
    std::string m_namesNote;
};

} // namespace

std::unique_ptr<Dataset> openCifar(const std::vector<std::string> &files, int labelBytes,
                                   DatasetOptions::CifarLabels which, const std::string &folder)
{
    return std::make_unique<CifarDataset>(files, labelBytes, which, folder);
}

} // namespace sparsity::detail
