#pragma once

#include "data/dataset.h"

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

#include <cstdint>
#include <vector>

namespace sparsity {

// Which images of the dataset a project evaluates on.
struct SubsetSpec {
    enum class Mode { First, Random, Stratified };
    Mode mode = Mode::First;
    std::size_t count = 2000;
    std::uint64_t seed = 0;

    bool operator==(const SubsetSpec &o) const { return mode == o.mode && count == o.count && seed == o.seed; }
};

// Everything a user set up, shared by the GUI and the CLI. Sites are keyed by NAME (Site::name), never by index,
// so a project survives a re-export of the model that reorders its graph. Paths here are absolute; the file
// stores them relative to itself when that is short (docs/project-format.md).
struct Project {
    QString modelPath;
    QString datasetPath;
    Split split = Split::Test;
    SubsetSpec subset;
    bool hasPreprocessing = false; // false: use the model's default preprocessing
    Preprocessing preprocessing;
    QMap<QString, double> thresholds;
    QMap<QString, QVector<double>> channelThresholds;
    QStringList scope; // sites in the regularization scope
    QMap<QString, double> bands;
    QJsonObject recipe; // opaque until the training recipe format is defined
    QString processorPreset; // a built-in preset's file name without ".json", or a path
    // Fine-tuned parameters and buffers of the model (core/weights.h), written beside the project when it is saved
    // with a tuned current state; empty: the model file's own weights.
    QString weightsPath;
    // Dataset indices whose feature maps the explorer keeps for its heatmaps; empty: the first few of the subset.
    std::vector<std::size_t> heatmapImages;

    bool operator==(const Project &o) const;
    bool operator!=(const Project &o) const { return !(*this == o); }
};

inline constexpr int kProjectVersion = 1;
inline constexpr const char *kProjectSchema = "sparsity-explorer/project";

// The embedded default: sample model and Fashion-MNIST test split, first 2,000 images, NeuronFlow-like preset.
Project sampleProject();

// Throws sparsity::Error naming the file and the problem (unreadable, bad JSON, wrong schema or version,
// missing or mistyped field, invalid preprocessing, a tuned weights file that is not there).
Project loadProject(const QString &path);
// Parses project JSON as if read from `path` (relative paths resolve against its folder).
Project parseProject(const QByteArray &json, const QString &path);
QByteArray projectToJson(const Project &project, const QString &path);
// Atomic: writes a temporary file and renames it (QSaveFile). Throws sparsity::Error naming the file.
void saveProject(const Project &project, const QString &path);

// How a path is written into a project file at `projectPath`: relative when the target is inside the project's
// folder or at most two levels up from it, absolute otherwise.
QString storedPath(const QString &absolutePath, const QString &projectPath);

} // namespace sparsity
