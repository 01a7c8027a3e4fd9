#include "comparison.h"

#include "capture.h"
#include "error.h"
#include "model.h"

#include <cmath>
#include <limits>

namespace sparsity {

Recipe recipeForMethod(const Recipe &base, Recipe::Method method)
{
    Recipe r = base;
    r.method = method;
    const Recipe defaults = Recipe::forMethod(method);
    switch (method) {
    case Recipe::Method::Star:
        if (base.method != Recipe::Method::Star) {
            // A base written for another method: take STAR's own band, penalty and threshold choices.
            r.bandMode = defaults.bandMode;
            r.band = defaults.band;
            r.lambda = defaults.lambda;
            r.thresholdMode = defaults.thresholdMode;
        }
        break;
    case Recipe::Method::L1Only:
        r.bandMode = Recipe::BandMode::Absolute;
        r.band = 0.0; // no upper end: every positive activation is penalised
        r.thresholdMode = Recipe::ThresholdMode::Keep;
        if (r.lambda <= 0.0)
            r.lambda = defaults.lambda;
        break;
    case Recipe::Method::ThresholdOnly:
        r.lambda = 0.0;
        if (r.thresholdMode == Recipe::ThresholdMode::Keep)
            r.thresholdMode = defaults.thresholdMode;
        break;
    case Recipe::Method::Relu:
        r.lambda = 0.0;
        r.thresholdMode = Recipe::ThresholdMode::Keep;
        break;
    }
    return r;
}

MethodComparison compareMethods(const std::function<std::shared_ptr<Model>()> &freshModel, const Recipe &base,
                                const std::vector<Recipe::Method> &methods, const TrainingData &data,
                                const Dataset &evaluation, const std::vector<std::size_t> &evaluationIndices,
                                const std::string &checkpointRoot, const std::atomic<bool> *cancel,
                                const std::function<void(const ComparisonProgress &)> &onMethod,
                                const TrainingCallbacks &callbacks)
{
    if (methods.empty())
        throw Error("comparison: no method to compare");
    MethodComparison out;
    out.evaluationImages = evaluationIndices.size();
    out.epochs = base.regularizeEpochs + base.finetuneEpochs;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t i = 0; i < methods.size(); ++i) {
        if (cancel && cancel->load()) {
            out.cancelled = true;
            break;
        }
        if (onMethod)
            onMethod({int(i), int(methods.size()), methods[i]});
        auto model = freshModel();
        if (out.siteNames.empty())
            for (const Site &s : model->sites()) {
                out.siteNames.push_back(s.name);
                out.sparsifiable.push_back(s.sparsifiable);
            }
        MethodResult r;
        r.method = methods[i];
        r.recipe = recipeForMethod(base, methods[i]);
        r.training = train(*model, r.recipe, data, checkpointRoot + "/" + methodName(methods[i]), false, cancel, callbacks);
        if (r.training.cancelled) {
            out.cancelled = true;
            break;
        }
        CaptureOptions options;
        options.keepPredictions = false;
        const CaptureResult c = capture(*model, evaluation, data.preprocessing, evaluationIndices, options, cancel);
        if (c.cancelled) {
            out.cancelled = true;
            break;
        }
        r.top1 = c.top1();
        r.top5 = c.top5();
        r.activationSparsity = c.activationSparsity(out.sparsifiable);
        r.nonzerosPerImage = c.nonzerosPerImage(out.sparsifiable);
        for (const auto &s : c.sites)
            r.siteSparsity.push_back(s.images ? s.sparsity() : nan);
        r.thresholds = model->thresholds();
        out.methods.push_back(std::move(r));
    }
    const MethodResult *relu = nullptr;
    for (const auto &m : out.methods)
        if (m.method == Recipe::Method::Relu)
            relu = &m;
    for (auto &m : out.methods) {
        m.removedVsRelu = relu && relu->nonzerosPerImage > 0 ? 1.0 - m.nonzerosPerImage / relu->nonzerosPerImage : nan;
        m.top1DeltaPp = relu ? m.top1 - relu->top1 : nan;
    }
    return out;
}

} // namespace sparsity
