#pragma once

#include "dataset.h"
#include "recipe.h"
#include "training.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sparsity {

class Model;

// One method of a comparison run, measured on the evaluation images after its training.
struct MethodResult {
    Recipe::Method method = Recipe::Method::Relu;
    Recipe recipe;                   // as run
    double top1 = 0.0, top5 = 0.0;   // percent
    double activationSparsity = 0.0; // zeros / elements over sparsifiable sites
    double nonzerosPerImage = 0.0;   // over sparsifiable sites
    double removedVsRelu = 0.0;      // 1 - nonzeros / ReLU baseline's nonzeros (NaN without a ReLU run)
    double top1DeltaPp = 0.0;        // top1 - ReLU baseline's top1 (NaN without a ReLU run)
    std::vector<double> siteSparsity; // per site (NaN when the site did not run)
    std::vector<float> thresholds;
    TrainingResult training;
};

struct MethodComparison {
    std::vector<std::string> siteNames;
    std::vector<bool> sparsifiable;
    std::vector<MethodResult> methods; // in the order asked
    std::size_t evaluationImages = 0;
    int epochs = 0; // per method: regularize + fine-tune epochs
    bool cancelled = false;
};

struct ComparisonProgress {
    int methodIndex = 0;
    int methodCount = 0;
    Recipe::Method method = Recipe::Method::Relu;
};

// `base` with the method's own choices (docs/star.md): L1-only penalises every positive activation and sets no
// thresholds; threshold-only trains without penalty, then sets thresholds; ReLU trains without penalty or thresholds.
// Epochs, optimisers, data sizes and seed stay those of `base`, so every method gets the same training budget.
Recipe recipeForMethod(const Recipe &base, Recipe::Method method);

// Trains each method on a fresh model (from `freshModel`), in `checkpointRoot`/<method name>, with the same budget,
// then evaluates it on `evaluationIndices` of `evaluation` (thresholds active). A ReLU run, when asked for, is the
// reference for `removedVsRelu` and `top1DeltaPp`. Honours `cancel` (the result then has the methods finished).
MethodComparison compareMethods(const std::function<std::shared_ptr<Model>()> &freshModel, const Recipe &base,
                                const std::vector<Recipe::Method> &methods, const TrainingData &data,
                                const Dataset &evaluation, const std::vector<std::size_t> &evaluationIndices,
                                const std::string &checkpointRoot, const std::atomic<bool> *cancel = nullptr,
                                const std::function<void(const ComparisonProgress &)> &onMethod = {},
                                const TrainingCallbacks &callbacks = {});

} // namespace sparsity
