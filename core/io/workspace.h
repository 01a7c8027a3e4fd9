#pragma once

#include "data/dataset.h"
#include "io/project.h"
#include "io/report.h"
#include "tune/training.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace sparsity {

class Model;

// What the command line (or a caller) changes about a project before it is opened.
struct WorkspaceOverrides {
    // false: the model only (inspect, export --no-evaluate); the dataset, subset and info stay empty.
    bool openData = true;
    // C,H,W the model runs at (--input-shape): the preprocessing resizes exactly to it.
    std::optional<std::vector<std::int64_t>> inputShape;
    // true (the explorer): the model always runs at the preprocessing's size, and saved tuned weights go into a
    // second copy (`tuned`) so that the baseline keeps the model as loaded. false (the CLI): the model keeps an input
    // shape it declares itself, and tuned weights are loaded into `model`.
    bool explorer = false;
};

// An opened project: everything a capture, search, training run or export works on.
struct Workspace {
    std::shared_ptr<Model> model;         // as loaded
    std::shared_ptr<Model> tuned;         // explorer only: the project's tuned weights, null when it has none
    std::shared_ptr<Dataset> dataset;     // null when not opened
    Preprocessing preprocessing;
    std::vector<std::size_t> indices;     // the subset, ascending dataset indices
    report::DatasetInfo info;             // for reports; empty without a dataset
};

// Opens the project's model, tuned weights, dataset and subset with the preprocessing the project names (else the
// model's metadata, else what the dataset implies). Throws sparsity::Error naming the file and the problem.
Workspace openWorkspace(const Project &project, const WorkspaceOverrides &overrides = {});

// The splits fine-tuning works on: the training split, and the test split for validation.
struct TrainingSplits {
    std::unique_ptr<Dataset> train, validation;
    TrainingData data(const Preprocessing &preprocessing) const { return {train.get(), validation.get(), preprocessing}; }
};
TrainingSplits openTrainingSplits(const QString &datasetPath);

// The subset's dataset indices (count 0: the whole split).
std::vector<std::size_t> subsetIndices(const Dataset &dataset, const SubsetSpec &subset);
// What the reports say about the data: path, split, format, size and the subset.
report::DatasetInfo datasetInfo(const Dataset &dataset, Split split, const SubsetSpec &subset, std::size_t subsetSize);
// The preprocessing for `model` on `dataset` (null: none open) unless the project names its own.
Preprocessing preprocessingFor(const Project &project, const Model &model, const Dataset *dataset);
// Makes `model` run at the preprocessing's C,H,W; throws with what the model wanted when it cannot.
void fitInputShape(Model &model, const Preprocessing &preprocessing);

} // namespace sparsity
