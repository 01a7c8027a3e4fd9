#include "tune/comparison.h"

#include "capture/capture.h"
#include "distributed/shardedcapture.h"
#include "graph/model.h"

#include <cmath>
#include <limits>

namespace sparsity {

Recipe baselineRecipe(const Recipe &star, Recipe::Method method)
{
    Recipe r = star;
    r.method = method;
    const int epochs = star.regularizeEpochs + star.finetuneEpochs * std::max(1, star.rounds);
    switch (method) {
    case Recipe::Method::Star:
        break;
    case Recipe::Method::Relu: // plain fine-tuning for the whole budget
        r.lambda = 0.0;
        r.regularizeEpochs = epochs;
        r.finetuneEpochs = 0;
        r.rounds = 1;
        r.thresholdMode = Recipe::ThresholdMode::Keep;
        break;
    case Recipe::Method::ThresholdOnly: // FATReLU: plain fine-tuning, the same threshold rounds, the same fine-tunes
        r.lambda = 0.0;
        r.penalizeWhileFinetuning = false;
        break;
    case Recipe::Method::L1Only: // Georgiadis: L1 on every positive activation for the whole budget, no thresholds
        r.bandMode = Recipe::BandMode::Absolute;
        r.band = 0.0;
        r.scopeMode = Recipe::ScopeMode::All;
        r.regularizeEpochs = epochs;
        r.finetuneEpochs = 0;
        r.rounds = 1;
        r.thresholdMode = Recipe::ThresholdMode::Keep;
        break;
    case Recipe::Method::HoyerThreshold: // Kurtz 2020: Hoyer-square on every whole activation tensor, then thresholds
        r.penalty = Recipe::Penalty::HoyerSquare;
        r.lambda = Recipe::forMethod(method).lambda;
        r.bandMode = Recipe::BandMode::Absolute;
        r.band = 0.0;
        r.bandPerChannel = false;
        r.scopeMode = Recipe::ScopeMode::All;
        break;
    }
    return r;
}

namespace {

MethodOutcome evaluate(ProcessGroup *group, Model &model, const Dataset &evaluation, const Preprocessing &preprocessing,
                       const std::vector<std::size_t> &indices, const std::vector<bool> &sparsifiable, const std::atomic<bool> *cancel)
{
    CaptureOptions options;
    options.keepPredictions = false;
    const auto r = captureSharded(group, model, evaluation, preprocessing, indices, options, cancel);
    MethodOutcome o;
    o.top1 = r.top1();
    o.top5 = r.top5();
    o.activationSparsity = r.activationSparsity(sparsifiable);
    o.nonzerosPerImage = r.nonzerosPerImage(sparsifiable);
    for (const auto &s : r.sites)
        o.siteSparsity.push_back(s.sparsity());
    o.thresholds = model.thresholds();
    o.channelThresholds = model.channelThresholds();
    o.workload = workloadFromStats(model.layers(), model.sites(), r.sites);
    o.top1DeltaPp = o.removedVsRelu = std::numeric_limits<double>::quiet_NaN();
    return o;
}

} // namespace

MethodComparison compareMethods(const std::function<std::shared_ptr<Model>()> &freshModel, const Recipe &star,
                                const std::vector<Recipe::Method> &methods, const TrainingData &data, const Dataset &evaluation,
                                const std::vector<std::size_t> &indices, const std::string &checkpointRoot,
                                const std::atomic<bool> *cancel, const std::function<void(const ComparisonProgress &)> &onMethod,
                                const TrainingCallbacks &callbacks)
{
    MethodComparison c;
    c.epochs = star.regularizeEpochs + star.finetuneEpochs * std::max(1, star.rounds);
    c.evaluationImages = indices.size();
    {
        auto model = freshModel();
        for (const auto &s : model->sites()) {
            c.siteNames.push_back(s.name);
            c.sparsifiable.push_back(s.sparsifiable && model->siteExecuted(s.index));
        }
        c.original = evaluate(data.group, *model, evaluation, data.preprocessing, indices, c.sparsifiable, cancel);
    }
    for (std::size_t i = 0; i < methods.size(); ++i) {
        if (cancel && cancel->load()) {
            c.cancelled = true;
            break;
        }
        if (onMethod)
            onMethod({int(i), int(methods.size()), methods[i]});
        auto model = freshModel();
        const Recipe recipe = baselineRecipe(star, methods[i]);
        const auto trained = train(*model, recipe, data, checkpointRoot + "/" + methodName(methods[i]), false, cancel, callbacks);
        if (trained.cancelled) {
            c.cancelled = true;
            break;
        }
        MethodOutcome o = evaluate(data.group, *model, evaluation, data.preprocessing, indices, c.sparsifiable, cancel);
        o.method = methods[i];
        o.recipe = recipe;
        o.training = trained;
        c.methods.push_back(o);
    }
    for (const auto &m : c.methods)
        if (m.method == Recipe::Method::Relu)
            for (auto &other : c.methods) {
                other.top1DeltaPp = other.top1 - m.top1;
                other.removedVsRelu = m.nonzerosPerImage > 0 ? 1.0 - other.nonzerosPerImage / m.nonzerosPerImage : std::nan("");
            }
    return c;
}

} // namespace sparsity
