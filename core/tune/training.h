#pragma once

#include "data/dataset.h"
#include "tune/recipe.h"
#include "tune/thresholdsearch.h"

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace sparsity {

class Model;
class ProcessGroup;

struct TrainingStep {
    std::string phase; // "regularize" or "finetune"
    int epoch = 0;     // global epoch index over both phases
    int step = 0;      // within the epoch
    int stepsPerEpoch = 0;
    double taskLoss = 0.0;
    double penalty = 0.0;  // lambda x normalised penalty, as added to the loss
    double sparsity = 0.0; // zeros / elements over the scoped sites in this step (thresholds applied)
    double learningRate = 0.0;
};

struct EpochReport {
    std::string phase;
    int epoch = 0;
    int epochsTotal = 0;
    double validationTop1 = 0.0;
    double validationSparsity = 0.0; // over all sparsifiable sites
    double seconds = 0.0;
    std::string checkpoint; // file written at the end of this epoch
};

struct TrainingCallbacks {
    std::function<void(const TrainingStep &)> step;
    std::function<void(const EpochReport &)> epoch;
    std::function<void(const SearchProgress &)> search;
    std::function<void(const std::string &)> message; // phase changes, decisions (band values, thresholds)
    // While it reads true the step loop waits before its next optimizer step (polling, so cancel still stops a
    // paused run within ~50 ms and a paused run costs no CPU).
    const std::atomic<bool> *pause = nullptr;
    // Every training batch exactly as the optimizer step gets it (after augmentation).
    std::function<void(const Batch &)> batch;
};

struct TrainingData {
    const Dataset *train = nullptr;      // labelled training split (calibration images come from its end)
    const Dataset *validation = nullptr; // labelled evaluation split
    Preprocessing preprocessing;         // the model's; train() adds the recipe's augmentation for training batches
    // When set, calibration images (band quantiles, threshold search) are its first `calibrationImages` and every
    // image of `train` is a training image (the held-out protocol: calibration = validation split).
    const Dataset *calibration = nullptr;
    // A group of processes training together (docs/distributed.md): each rank trains on its part of every global
    // batch of recipe.batchSize images, the gradients are averaged, rank 0 decides bands and thresholds and writes
    // the checkpoints. Null (or one rank): this process alone.
    ProcessGroup *group = nullptr;
};

// The preprocessing of training batches under a recipe: `base` plus, with `augment`, the recipe's random crop
// padding and a horizontal flip (what BatchLoader applies when its `augment` option is on).
Preprocessing trainingPreprocessing(const Recipe &recipe, const Preprocessing &base);

struct TrainingResult {
    bool cancelled = false;
    int epochsDone = 0;
    std::vector<float> bands;      // per site, the penalised band's upper end (0 = none)
    std::vector<std::vector<float>> channelBands; // per site, per channel with band.per_channel (empty: `bands` applies)
    std::vector<float> thresholds; // per site, after the threshold phase
    std::vector<std::vector<float>> channelThresholds; // per site, per channel (empty = the scalar applies)
    SearchResult search;           // when the recipe searched thresholds
    double validationTop1 = 0.0;
    double validationSparsity = 0.0;
    double seconds = 0.0;
    std::vector<std::string> checkpoints;
};

// Fine-tunes the model in place through its own TorchScript graph (probes are differentiable) following
// the recipe: regularize (penalty on the near-zero band of scoped sites), thresholds, fine-tune with
// thresholds active. Writes a checkpoint at the end of every epoch into `checkpointDir` (created if
// needed); with `resume`, continues from the newest checkpoint there, giving the same result as an
// uninterrupted run with the same seed. Throws sparsity::Error on bad data or an unusable checkpoint.
TrainingResult train(Model &model, const Recipe &recipe, const TrainingData &data, const std::string &checkpointDir,
                     bool resume = false, const std::atomic<bool> *cancel = nullptr, const TrainingCallbacks &callbacks = {});

// Per-site band upper ends for a recipe, from a capture of the model on calibration data (quantile mode)
// or the absolute value; 0 for sites out of scope.
std::vector<float> bandsFor(const Recipe &recipe, const Model &model, const struct CaptureResult &calibrationStats);

// The fine-tune's bands under finetune.band_factor `factor` (c): (t, c t] just above each scoped site's threshold t,
// per channel where the site has per-channel thresholds. The probes penalise (0, b] of the thresholded output, which
// is (t, c t] of the activation. `scope` loses the sites without a threshold: there is nothing to push below.
struct ThresholdTiedBands {
    std::vector<float> bands;
    std::vector<std::vector<float>> channelBands;
    std::vector<bool> scope;
};
ThresholdTiedBands thresholdTiedBands(double factor, const std::vector<bool> &scope, const std::vector<float> &thresholds,
                                      const std::vector<std::vector<float>> &channelThresholds);

// The penalty's gradient with respect to every site's output on one batch (first image only), for checking
// and explaining what partial regularisation pushes on: nonzero only inside (0, band] of scoped sites.
struct PenaltyInspection {
    std::vector<std::vector<float>> outputs;   // [site] -> the site's output for image 0 (empty if not run)
    std::vector<std::vector<float>> gradients; // [site] -> d(lambda x penalty) / d(output) for image 0
    double penalty = 0.0;
};
// `channelBands` (per site, per channel; an empty site uses `bands`) as band.per_channel computes them.
PenaltyInspection inspectPenalty(Model &model, const Recipe &recipe, const std::vector<float> &bands, const Batch &batch,
                                 const std::vector<std::vector<float>> &channelBands = {});

} // namespace sparsity
