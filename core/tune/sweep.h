#pragma once
// A sweep: a series of threshold sets, each made by one rule and evaluated exactly on the same images, so the
// user can pick an operating point from the trade-off instead of guessing a budget (issue #19, docs/explorer.md).

#include "data/dataset.h"
#include "graph/site.h"
#include "hardware/processor.h"
#include "tune/thresholdsearch.h"

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sparsity {

class Model;

struct SweepOptions {
    // Search: each value is a top-1 budget in pp (the threshold search on the calibration images);
    // Quantile: each value is a target sparsity in [0, 1) that every sparsifiable site gets from its own
    // calibration histogram (NNCF's rule, no search).
    enum class Rule { Search, Quantile } rule = Rule::Search;
    std::vector<double> values;
    SearchOptions search; // the settings of every search; its budgetPp is each value in turn
};

// Checks the values for the rule (at least one; finite; budgets in [0, 100], targets in [0, 1)), without
// duplicates; throws Error naming `what` (a CLI option or a dialog field).
void checkSweepValues(SweepOptions::Rule rule, const std::vector<double> &values, const std::string &what);
// "search" / "quantile".
const char *sweepRuleName(SweepOptions::Rule rule);

struct SweepPoint {
    double value = 0.0;        // the budget or target sparsity it was made for
    Thresholds thresholds;     // all sites; per channel where the search made them
    double score = 0.0;        // top-1 (mean IoU on segmentation data) on the evaluation images, percent
    double sparsity = 0.0;     // over the sparsifiable sites that ran
    double nonzerosPerImage = 0.0;
    // The processor model's projection of the measured workload (when a processor is given).
    std::optional<double> latencySeconds, energyPerFrameJ, fps;
    bool pareto = false;       // no other point (nor the baseline) scores at least as high with fewer nonzeros
};

struct SweepResult {
    SweepOptions::Rule rule = SweepOptions::Rule::Search;
    std::vector<double> values; // as asked for
    SweepPoint baseline;       // thresholds 0: the activations alone
    std::vector<SweepPoint> points; // in the order of SweepOptions::values (those finished when cancelled)
    std::size_t calibrationImages = 0, evaluationImages = 0;
    double seconds = 0.0;
    bool cancelled = false;
};

struct SweepProgress {
    int point = -1;            // 0-based point under way; -1 while the baseline is evaluated (first)
    int points = 0;
    double fraction = 0.0;     // of the whole sweep
};

// Runs on batches already in memory: `calibration` makes the thresholds (searches, histograms), `evaluation`
// measures every point; keep them apart so the figures are not the ones the rule selected on. The model's own
// thresholds are as before when it returns (or throws). Cancel: the finished points come back, `cancelled` set.
SweepResult runSweep(Model &model, const std::vector<Batch> &calibration, const std::vector<Batch> &evaluation,
                     const SweepOptions &options, const ProcessorParams *processor = nullptr,
                     const std::atomic<bool> *cancel = nullptr,
                     const std::function<void(const SweepProgress &)> &progress = {});

// Marks the points no other point (nor `baseline`) dominates: a higher or equal score with fewer nonzeros per
// image, or a strictly higher score with as few.
void markPareto(std::vector<SweepPoint> &points, const SweepPoint &baseline);

} // namespace sparsity
