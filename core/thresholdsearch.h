#pragma once

#include "dataset.h"

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace sparsity {

class Model;
struct CaptureResult;

// Per-site thresholds that remove as many activations as possible while the top-1 accuracy on a calibration
// set stays within `budgetPp` of the starting accuracy. See docs/star.md for the algorithm.
struct SearchOptions {
    double budgetPp = 0.5;         // allowed top-1 loss (mean IoU on segmentation data), percentage points
    std::vector<int> sites;        // sites to search; empty = every sparsifiable site that runs
    int stepsPerSite = 10;         // binary-search steps per site (range / 2^steps precision)
    bool refine = true;            // after the joint scaling, push each site further while the budget allows
    // Weight of one removed activation per site (e.g. its fan-out cost from the processor model, to minimise
    // projected latency); empty = every activation counts the same.
    std::vector<double> siteWeights;
};

struct SearchProgress {
    std::string phase; // "baseline", "per-site", "joint", "refine"
    int evaluation = 0;
    int evaluationsPlanned = 0;
    int site = -1;
    double top1 = 0.0;
};

struct SearchResult {
    std::vector<float> thresholds; // per site (all sites; unsearched keep their starting value)
    double startTop1 = 0.0;         // calibration accuracy with the starting thresholds
    double finalTop1 = 0.0;
    double startSparsity = 0.0;     // over the searched sites, calibration set
    double finalSparsity = 0.0;
    int evaluations = 0;
    double seconds = 0.0;
    bool cancelled = false;
};

// Runs on the calibration batches (already in memory). The model's thresholds are left at the result
// (or restored to the starting values when cancelled).
SearchResult searchThresholds(Model &model, const std::vector<Batch> &calibration, const SearchOptions &options,
                              const std::atomic<bool> *cancel = nullptr,
                              const std::function<void(const SearchProgress &)> &progress = {});

// Starting points: the quantile rule (each site's threshold removes about `targetSparsity` of its values,
// from its captured histogram) and one global value.
std::vector<float> quantileThresholds(const Model &model, const CaptureResult &stats, double targetSparsity);
std::vector<float> globalThresholds(const Model &model, float value);

} // namespace sparsity
