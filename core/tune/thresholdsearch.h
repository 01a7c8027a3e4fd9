#pragma once

#include "data/dataset.h"

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace sparsity {

class Model;
struct CaptureResult;

// Per-site thresholds that remove as many activations as possible while the top-1 accuracy on a calibration
// set stays within `budgetPp` of the starting accuracy. See docs/star.md for the algorithm.
// Per-channel reference scale r_c of a site's output (see SearchOptions::perChannel).
enum class ChannelReference {
    MeanPositive,   // the mean of the channel's positive values
    MedianPositive, // their median (per calibration batch, or slice of one for large models, averaged)
};

struct SearchOptions {
    double budgetPp = 0.5;         // allowed top-1 loss (mean IoU on segmentation data), percentage points
    std::vector<int> sites;        // sites to search; empty = every sparsifiable site that runs
    int stepsPerSite = 10;         // binary-search steps per site (range / 2^steps precision)
    bool refine = true;            // after the joint scaling, push each site further while the budget allows
    // Weight of one removed activation per site (e.g. its fan-out cost from the processor model, to minimise
    // projected latency); empty = every activation counts the same.
    std::vector<double> siteWeights;
    // Per-channel thresholds: each searched site still has ONE searched value s (same algorithm, same number of
    // evaluations plus one pass to measure r_c), applied as t_c = s * r_c to channel c, r_c the channel's reference
    // scale on the calibration set. Off: one threshold per site.
    bool perChannel = false;
    ChannelReference channelReference = ChannelReference::MeanPositive;
    // Bisection: the three steps of docs/star.md (per-site limits, joint scaling, refinement). Greedy: steps of
    // `greedyStep` more sparsity of one site at a time, each to the site that removes the most weighted
    // activations per unit of KL divergence from the starting model's class scores, within the top-1 budget;
    // then halved steps until 1/8 of it. Classifiers only, one threshold per site.
    enum class Strategy { Bisection, Greedy } strategy = Strategy::Bisection;
    double greedyStep = 0.02;
};

struct SearchProgress {
    std::string phase; // "baseline", "per-site", "joint", "refine" (bisection); "greedy"
    int evaluation = 0;
    int evaluationsPlanned = 0;
    int site = -1;
    double top1 = 0.0;
};

struct SearchResult {
    std::vector<float> thresholds; // per site (all sites; unsearched keep their starting value)
    // Per site, the per-channel thresholds as the model has them after the search (empty: the scalar applies; a
    // scalar search clears them on the sites it searched). perChannel: also the searched scale s (t_c = s * r_c; 0
    // for sites not searched) and the reference scales r_c it multiplies; `thresholds` then holds the mean of each
    // per-channel site's thresholds, a summary only (the model applies the per-channel values).
    std::vector<std::vector<float>> channelThresholds;
    std::vector<float> scales;
    std::vector<std::vector<float>> channelReferences;
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

// Per-channel statistics of every site's output (with the model's current thresholds) over the batches:
// the reference scale r_c of each channel (0 for a channel that was never positive) and the channel's maximum.
struct ChannelScales {
    std::vector<std::vector<float>> reference; // [site][channel]; empty for sites that did not run
    std::vector<std::vector<float>> max;       // [site][channel]
};
// The measurements below keep every site's feature maps of a batch at once, at most this many bytes of them.
constexpr std::int64_t kKeptMapsBytes = std::int64_t(256) << 20;

// Every site's feature maps of a batch are held at once; batches whose maps would exceed `keptBytesLimit` are
// measured in slices of fewer images (the mean and the maxima do not change; the median is then per slice).
ChannelScales channelReferenceScales(Model &model, const std::vector<Batch> &batches, ChannelReference reference,
                                     const std::atomic<bool> *cancel = nullptr, std::int64_t keptBytesLimit = kKeptMapsBytes);

// Per site and channel, the `quantile` of the channel's positive values over the batches (from 8-bins-per-octave
// histograms, as SiteStats); empty for sites that did not run, 0 for a channel never positive.
std::vector<std::vector<float>> channelQuantiles(Model &model, const std::vector<Batch> &batches, double quantile,
                                                 const std::atomic<bool> *cancel = nullptr,
                                                 std::int64_t keptBytesLimit = kKeptMapsBytes);

// A channel's most frequent positive value at `site` over the batches and the share of the channel's positions
// (all images) that hold exactly it: a channel that answers a uniform region (an empty background, padding) with a
// constant has a large share. Value 0 and share 0 for a channel never positive.
struct ConstantResponse {
    float value = 0.0f;
    double share = 0.0;
};
std::vector<ConstantResponse> constantResponses(Model &model, const std::vector<Batch> &batches, int site,
                                               const std::atomic<bool> *cancel = nullptr,
                                               std::int64_t keptBytesLimit = kKeptMapsBytes);
// Per-channel thresholds at each channel's constant response holding at least `share` of its positions
// (Recipe::constantShare); a channel keeps its threshold when that already removes the value. Returns how many
// channels were cut.
int cutConstantResponses(Model &model, const std::vector<Batch> &batches, double share, const std::atomic<bool> *cancel = nullptr,
                         std::int64_t keptBytesLimit = kKeptMapsBytes);

// Starting points: the quantile rule (each site's threshold removes about `targetSparsity` of its values,
// from its captured histogram) and one global value.
std::vector<float> quantileThresholds(const Model &model, const CaptureResult &stats, double targetSparsity);
std::vector<float> globalThresholds(const Model &model, float value);

} // namespace sparsity
