#include "tune/sweep.h"

#include "capture/capture.h"
#include "error.h"
#include "graph/model.h"
#include "hardware/workload.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

namespace sparsity {

namespace {

// The model's thresholds as they were, back in place however the sweep ends.
class ThresholdsRestorer {
public:
    explicit ThresholdsRestorer(Model &model) : model_(model), scalar_(model.thresholds()), perChannel_(model.channelThresholds()) {}
    ~ThresholdsRestorer() { model_.setThresholds(scalar_, perChannel_); }
    ThresholdsRestorer(const ThresholdsRestorer &) = delete;
    ThresholdsRestorer &operator=(const ThresholdsRestorer &) = delete;

private:
    Model &model_;
    std::vector<float> scalar_;
    std::vector<std::vector<float>> perChannel_;
};

Thresholds zeroThresholds(const Model &model)
{
    return Thresholds{std::vector<float>(model.sites().size(), 0.0f), {}};
}

} // namespace

const char *sweepRuleName(SweepOptions::Rule rule)
{
    return rule == SweepOptions::Rule::Search ? "search" : "quantile";
}

void checkSweepValues(SweepOptions::Rule rule, const std::vector<double> &values, const std::string &what)
{
    if (values.empty())
        throw Error(what + ": give at least one value");
    const bool search = rule == SweepOptions::Rule::Search;
    std::set<double> seen;
    for (double v : values) {
        if (!std::isfinite(v) || v < 0.0 || (search ? v > 100.0 : v >= 1.0))
            throw Error(what + ": " + std::to_string(v) +
                        (search ? " is not a top-1 budget in percentage points (0 to 100)"
                                : " is not a target sparsity (a fraction from 0 up to, not including, 1)"));
        if (!seen.insert(v).second)
            throw Error(what + ": " + std::to_string(v) + " is given twice");
    }
}

void markPareto(std::vector<SweepPoint> &points, const SweepPoint &baseline)
{
    const auto dominates = [](const SweepPoint &a, const SweepPoint &b) {
        return (a.score >= b.score && a.nonzerosPerImage < b.nonzerosPerImage) ||
               (a.score > b.score && a.nonzerosPerImage <= b.nonzerosPerImage);
    };
    for (auto &p : points) {
        p.pareto = !dominates(baseline, p);
        for (const auto &q : points)
            if (&q != &p && dominates(q, p))
                p.pareto = false;
    }
}

SweepResult runSweep(Model &model, const std::vector<Batch> &calibration, const std::vector<Batch> &evaluation,
                     const SweepOptions &options, const ProcessorParams *processor, const std::atomic<bool> *cancel,
                     const std::function<void(const SweepProgress &)> &progress)
{
    checkSweepValues(options.rule, options.values, "sweep");
    if (calibration.empty() || evaluation.empty())
        throw Error(model.path() + ": a sweep needs calibration and evaluation images");
    const auto started = std::chrono::steady_clock::now();
    const ThresholdsRestorer restore(model);
    const auto mask = sparsifiableMask(model.sites());
    const int count = int(options.values.size());
    // The baseline is step 0, point i step i + 1 (each about one search or histogram lookup and one evaluation).
    const auto report = [&](int point, double withinPoint) {
        if (progress)
            progress({point, count, (double(point + 1) + withinPoint) / double(count + 1)});
    };
    const auto cancelled = [&] { return cancel && cancel->load(); };

    SweepResult result;
    result.rule = options.rule;
    result.values = options.values;
    for (const Batch &b : calibration)
        result.calibrationImages += std::size_t(b.n);
    for (const Batch &b : evaluation)
        result.evaluationImages += std::size_t(b.n);

    const auto measure = [&](double value, const Thresholds &thresholds) -> std::optional<SweepPoint> {
        CaptureOptions o;
        o.keepPredictions = false;
        o.thresholds = thresholds;
        const CaptureResult r = capture(model, evaluation, o, cancel);
        if (r.cancelled)
            return std::nullopt;
        SweepPoint p;
        p.value = value;
        p.thresholds = thresholds;
        p.score = r.score();
        p.sparsity = r.activationSparsity(mask);
        p.nonzerosPerImage = r.nonzerosPerImage(mask);
        if (processor) {
            const Evaluation e = evaluate(*processor, workloadFromStats(model.layers(), model.sites(), r.sites));
            p.latencySeconds = e.latencySeconds;
            p.energyPerFrameJ = e.energyPerFrameJ;
            p.fps = e.fps;
        }
        return p;
    };

    report(-1, 0.0);
    auto baseline = measure(0.0, zeroThresholds(model));
    if (!baseline) {
        result.cancelled = true;
        return result;
    }
    result.baseline = *baseline;

    std::optional<CaptureResult> calibrationStats; // the quantile rule's histograms, with thresholds 0
    for (int i = 0; i < count && !cancelled(); ++i) {
        const double value = options.values[std::size_t(i)];
        report(i, 0.0);
        Thresholds thresholds;
        if (options.rule == SweepOptions::Rule::Search) {
            const Thresholds zero = zeroThresholds(model);
            model.setThresholds(zero.scalar, std::vector<std::vector<float>>(model.sites().size()));
            SearchOptions s = options.search;
            s.budgetPp = value;
            const SearchResult found = searchThresholds(model, calibration, s, cancel, [&](const SearchProgress &sp) {
                report(i, sp.evaluationsPlanned ? 0.9 * double(sp.evaluation) / double(sp.evaluationsPlanned) : 0.0);
            });
            if (found.cancelled)
                break;
            thresholds = Thresholds{found.thresholds, found.channelThresholds};
        } else {
            if (!calibrationStats) {
                CaptureOptions o;
                o.keepPredictions = false;
                o.thresholds = zeroThresholds(model);
                calibrationStats = capture(model, calibration, o, cancel);
                if (calibrationStats->cancelled)
                    break;
            }
            thresholds = Thresholds{quantileThresholds(model, *calibrationStats, value), {}};
        }
        report(i, 0.9);
        auto point = measure(value, thresholds);
        if (!point)
            break;
        result.points.push_back(std::move(*point));
    }
    result.cancelled = cancelled() || int(result.points.size()) < count;
    markPareto(result.points, result.baseline);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report(count - 1, 1.0);
    return result;
}

} // namespace sparsity
