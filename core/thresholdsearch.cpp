#include "thresholdsearch.h"

#include "capture.h"
#include "model.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace sparsity {

namespace {

struct Evaluator {
    Model &model;
    const std::vector<Batch> &batches;
    const std::atomic<bool> *cancel;
    const std::function<void(const SearchProgress &)> &progress;
    SearchProgress state;
    std::vector<bool> searched;

    // Accuracy (and, when asked, sparsity of the searched sites) with the given thresholds.
    std::pair<double, double> operator()(const std::vector<float> &thresholds, bool withStats = false)
    {
        model.setThresholds(thresholds);
        CaptureOptions options;
        options.keepPredictions = false;
        options.collectStats = withStats;
        const CaptureResult r = capture(model, batches, options, cancel);
        ++state.evaluation;
        state.top1 = r.score();
        if (progress)
            progress(state);
        return {r.score(), withStats ? r.activationSparsity(searched) : 0.0};
    }
    bool cancelled() const { return cancel && cancel->load(); }
};

// Largest value in [lo, hi] for which `ok` holds, assuming ok is monotone (true up to some point).
template <typename Ok>
float bisect(float lo, float hi, int steps, Ok ok)
{
    for (int i = 0; i < steps; ++i) {
        const float mid = 0.5f * (lo + hi);
        if (ok(mid))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

} // namespace

std::vector<float> quantileThresholds(const Model &model, const CaptureResult &stats, double targetSparsity)
{
    std::vector<float> t(model.sites().size(), 0.0f);
    for (std::size_t i = 0; i < t.size() && i < stats.sites.size(); ++i)
        if (model.sites()[i].sparsifiable)
            t[i] = float(stats.sites[i].thresholdForSparsity(targetSparsity));
    return t;
}

std::vector<float> globalThresholds(const Model &model, float value)
{
    std::vector<float> t(model.sites().size(), 0.0f);
    for (std::size_t i = 0; i < t.size(); ++i)
        if (model.sites()[i].sparsifiable)
            t[i] = value;
    return t;
}

SearchResult searchThresholds(Model &model, const std::vector<Batch> &calibration, const SearchOptions &options,
                              const std::atomic<bool> *cancel, const std::function<void(const SearchProgress &)> &progress)
{
    const auto started = std::chrono::steady_clock::now();
    const std::vector<float> start = model.thresholds();
    const auto &sites = model.sites();
    std::vector<int> scope = options.sites;
    if (scope.empty())
        for (const auto &s : sites)
            if (s.sparsifiable && model.siteExecuted(s.index))
                scope.push_back(s.index);
    std::sort(scope.begin(), scope.end(), [&](int a, int b) { return sites[std::size_t(a)].depth < sites[std::size_t(b)].depth; });

    Evaluator eval{model, calibration, cancel, progress, {}, std::vector<bool>(sites.size(), false)};
    for (int s : scope)
        eval.searched[std::size_t(s)] = true;
    eval.state.evaluationsPlanned = 1 + int(scope.size()) * (options.stepsPerSite + 1) + 8 +
                                    (options.refine ? int(scope.size()) * (options.stepsPerSite / 2) : 0);

    SearchResult result;
    eval.state.phase = "baseline";
    // The upper end of each site's range: the largest value it produced (its own range, not a fixed [0, 1]).
    std::vector<float> upper(sites.size(), 0.0f);
    {
        model.setThresholds(start);
        CaptureOptions statsOptions;
        statsOptions.keepPredictions = false;
        const CaptureResult base = capture(model, calibration, statsOptions, cancel);
        ++eval.state.evaluation;
        result.startTop1 = base.score();
        result.startSparsity = base.activationSparsity(eval.searched);
        for (int s : scope)
            upper[std::size_t(s)] = std::max(start[std::size_t(s)], base.sites[std::size_t(s)].max);
    }
    const double floorTop1 = result.startTop1 - options.budgetPp;
    auto finish = [&](std::vector<float> thresholds, bool cancelled) {
        result.cancelled = cancelled;
        result.thresholds = cancelled ? start : thresholds;
        model.setThresholds(result.thresholds);
        result.evaluations = eval.state.evaluation;
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return result;
    };

    // 1. Sensitivity: the largest threshold each site tolerates alone.
    eval.state.phase = "per-site";
    std::vector<float> alone = start;
    for (int s : scope) {
        eval.state.site = s;
        auto t = start;
        alone[std::size_t(s)] = bisect(start[std::size_t(s)], upper[std::size_t(s)], options.stepsPerSite, [&](float v) {
            if (eval.cancelled())
                return false;
            t[std::size_t(s)] = v;
            return eval(t).first >= floorTop1;
        });
        if (eval.cancelled())
            return finish(start, true);
    }

    // 2. Joint: all sites together, scaled back toward the start until the budget holds.
    eval.state.phase = "joint";
    eval.state.site = -1;
    auto blend = [&](float a) {
        auto t = start;
        for (int s : scope)
            t[std::size_t(s)] = start[std::size_t(s)] + a * (alone[std::size_t(s)] - start[std::size_t(s)]);
        return t;
    };
    float alpha = 1.0f;
    if (eval(blend(1.0f)).first < floorTop1)
        alpha = bisect(0.0f, 1.0f, 7, [&](float a) { return !eval.cancelled() && eval(blend(a)).first >= floorTop1; });
    if (eval.cancelled())
        return finish(start, true);
    std::vector<float> best = blend(alpha);

    // 3. Refine: sites that remove the most weighted activations first, each pushed toward its solo limit.
    if (options.refine && alpha < 1.0f) {
        eval.state.phase = "refine";
        std::vector<int> order = scope;
        auto weight = [&](int s) {
            const double w = options.siteWeights.size() > std::size_t(s) ? options.siteWeights[std::size_t(s)] : 1.0;
            return w * double(sites[std::size_t(s)].elementsPerImage);
        };
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return weight(a) > weight(b); });
        for (int s : order) {
            eval.state.site = s;
            auto t = best;
            const float v = bisect(best[std::size_t(s)], alone[std::size_t(s)], std::max(2, options.stepsPerSite / 2), [&](float x) {
                if (eval.cancelled())
                    return false;
                t[std::size_t(s)] = x;
                return eval(t).first >= floorTop1;
            });
            if (eval.cancelled())
                return finish(start, true);
            best[std::size_t(s)] = v;
        }
    }

    const auto final = eval(best, true);
    result.finalTop1 = final.first;
    result.finalSparsity = final.second;
    return finish(best, false);
}

} // namespace sparsity
