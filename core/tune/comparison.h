#pragma once

#include "tune/recipe.h"
#include "tune/training.h"
#include "hardware/workload.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sparsity {

class Dataset;
class Model;

// One method's outcome on the evaluation images.
struct MethodOutcome {
    Recipe::Method method = Recipe::Method::Relu;
    Recipe recipe;
    TrainingResult training;
    double top1 = 0.0, top5 = 0.0;
    double top1DeltaPp = 0.0;       // vs the ReLU baseline row (NaN until it ran)
    double activationSparsity = 0.0; // over the sparsifiable activation sites
    double nonzerosPerImage = 0.0;   // events an event-driven chip would see from those sites
    double removedVsRelu = 0.0;      // 1 - nonzeros / nonzeros of the ReLU baseline (NaN without it)
    std::vector<double> siteSparsity; // per site (all sites, parallel to siteNames)
    std::vector<float> thresholds;
    std::vector<std::vector<float>> channelThresholds; // per site; empty = the scalar threshold applies
    // Event work per frame measured in this evaluation (workloadFromStats): what a processor projection
    // (core/processor.h evaluate) of this method needs.
    Workload workload;
};

struct MethodComparison {
    int epochs = 0; // per method: the STAR recipe's regularize + fine-tune epochs
    std::size_t evaluationImages = 0;
    bool cancelled = false;
    std::vector<std::string> siteNames;
    std::vector<bool> sparsifiable;
    MethodOutcome original; // the model as loaded, before any fine-tuning
    std::vector<MethodOutcome> methods;
};

struct ComparisonProgress {
    int methodIndex = 0;
    int methodCount = 0;
    Recipe::Method method = Recipe::Method::Relu;
};

// The recipe a method gets under the same training budget as the STAR recipe `star` (see docs/star.md).
Recipe baselineRecipe(const Recipe &star, Recipe::Method method);

// Fine-tunes a fresh copy of the model (from `freshModel`) per method with the same budget and evaluates each on
// `indices` of `evaluation`. Checkpoints go to checkpointRoot/<method>. Stops between methods when cancelled.
MethodComparison compareMethods(const std::function<std::shared_ptr<Model>()> &freshModel, const Recipe &star,
                                const std::vector<Recipe::Method> &methods, const TrainingData &data, const Dataset &evaluation,
                                const std::vector<std::size_t> &indices, const std::string &checkpointRoot,
                                const std::atomic<bool> *cancel = nullptr,
                                const std::function<void(const ComparisonProgress &)> &onMethod = {},
                                const TrainingCallbacks &callbacks = {});

} // namespace sparsity
