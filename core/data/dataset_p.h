#pragma once
// Internal to core: the per-format dataset factories behind openDataset(). No OpenCV or torch here.

#include "data/dataset.h"

#include <string>
#include <vector>

namespace sparsity::detail {

// "classes.txt"-style files: one name per line; surrounding whitespace and trailing empty lines dropped.
// Returns an empty list when the file does not exist.
std::vector<std::string> readClassNames(const std::string &file);
std::vector<std::string> numberedClassNames(int count);

bool hasImageExtension(const std::string &fileName);
std::string imageExtensionList(); // for messages: ".jpg, .jpeg, ..."
std::string lowerCase(std::string s);
std::string fileName(const std::string &path);

// `imagesFile` must exist; `labelsFile` may be empty (unlabelled); `classesFile` may not exist.
std::unique_ptr<Dataset> openIdx(const std::string &imagesFile, const std::string &labelsFile,
                                 const std::string &classesFile, const std::string &note);

// `labelBytes` 1 (CIFAR-10) or 2 (CIFAR-100); files in order; class names from the meta files in `folder`.
std::unique_ptr<Dataset> openCifar(const std::vector<std::string> &files, int labelBytes,
                                   DatasetOptions::CifarLabels which, const std::string &folder);

// An ImageFolder's class folders (sorted) and the image files below each, from one walk (symlink policy: see
// FolderWalk in dataset_folder.cpp and docs/hostile-input.md).
struct ClassFolders {
    std::vector<std::string> names;
    std::vector<std::vector<std::string>> files;
    bool anyImages() const;
};
ClassFolders listClassFolders(const std::string &root);
// Whether `dir` has at least one subfolder (not hidden) containing an image file at any depth; stops at the first.
bool hasClassFolderWithImages(const std::string &dir);

// Folder layouts. Each throws sparsity::Error with the reason when the layout does not hold.
std::unique_ptr<Dataset> openImageFolder(const std::string &root, const ClassFolders &classes, const std::string &note);
std::unique_ptr<Dataset> openFlatFolder(const std::string &root);
std::unique_ptr<Dataset> openSegmentation(const std::string &root);

} // namespace sparsity::detail
