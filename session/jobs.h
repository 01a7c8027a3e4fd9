#pragma once

#include "capture/capture.h"
#include "data/dataset.h"
#include "hardware/workload.h"
#include "tune/comparison.h"
#include "tune/recipe.h"
#include "tune/sweep.h"
#include "tune/thresholdsearch.h"
#include "tune/training.h"

#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace sparsity {

class Dataset;
class Model;

// The kinds of background work. Each has a job type below: typed parameters in, a typed result out, run
// synchronously on a worker thread with a cancel flag (and pause, for training) it shares with the JobTracker.
// They never touch the event loop; the Session posts their progress and results back.
enum class JobKind { Baseline, Current, Search, Sweep, Training, Comparison };

// What a worker shares with the tracker (jobtracker.h): polled by the core algorithms.
struct JobControl {
    int id = 0;
    JobKind kind = JobKind::Current;
    std::atomic<bool> cancel{false};
    std::atomic<bool> pause{false}; // training and comparison: the step loop waits while set
};

// One finished capture and what it ran with: the views never read the Model's live probe state.
struct Snapshot {
    CaptureResult result;
    std::vector<float> thresholds;                     // the thresholds the capture ran with
    std::vector<std::vector<float>> channelThresholds; // per site, empty = scalar threshold
    std::vector<bool> executed;                        // per site: ran in this capture
    Workload workload;                                 // workloadFromStats of this capture
    // > 0: an exact evaluation of a stratified slice (result.images of them) of a subset of this many images, shown
    // first while the whole subset is evaluated.
    std::size_t sliceOf = 0;
};

// The explorer's re-evaluations of one subset (core's CachedEvaluation: the images in memory, the inference copy,
// feature maps cached at cut points so that a change at a deep site starts there). Made by the first
// re-evaluation of a model, subset, preprocessing and set of kept images; the Session replaces it when one of
// them changes. Used by one capture at a time (the capture pool has one thread).
struct EvaluationCache {
    std::shared_ptr<Model> model;
    std::vector<std::size_t> indices, kept;
    Preprocessing preprocessing;
    std::unique_ptr<CachedEvaluation> evaluation;
    bool unusable = false; // the subset's images are too large to hold in memory: captures stream them

    // The subset's inputs held in memory at most (the cut points' feature maps have their own 1 GiB budget).
    static constexpr std::size_t kInputBytes = std::size_t(512) << 20;
};

// A capture of the subset (the baseline or a re-evaluation of the current thresholds).
struct CaptureJob {
    struct Params {
        std::shared_ptr<Model> model;
        std::shared_ptr<const Dataset> dataset;
        Preprocessing preprocessing;
        std::vector<std::size_t> indices;
        CaptureOptions options;
        std::vector<float> thresholds;
        std::vector<std::vector<float>> channels;
        std::shared_ptr<EvaluationCache> cache; // re-evaluations; null: stream the images (the baseline)
        std::vector<std::size_t> slice;         // evaluated first and handed to `partial` when not empty
    };
    static std::shared_ptr<Snapshot> run(const Params &params, JobControl &control,
                                         const std::function<void(const CaptureProgress &)> &progress,
                                         const std::function<void(std::shared_ptr<Snapshot>)> &partial = {});
};

// A threshold search (core/tune/thresholdsearch.h) on calibration images, from the given thresholds.
struct SearchJob {
    struct Params {
        std::shared_ptr<Model> model;
        std::shared_ptr<const Dataset> dataset;
        Preprocessing preprocessing;
        std::vector<std::size_t> calibration;
        SearchOptions options;
        std::vector<float> thresholds;
        std::vector<std::vector<float>> channels;
    };
    static std::shared_ptr<SearchResult> run(const Params &params, JobControl &control,
                                             const std::function<void(const SearchProgress &)> &progress);
};

// A sweep (core/tune/sweep.h) over the subset: calibration images from the end of the dataset's training split
// (held out from a test-split subset, as the CLI's search), or from the start of the subset when the dataset has no
// training split; every point evaluated on the whole subset.
struct SweepJob {
    struct Params {
        std::shared_ptr<Model> model;
        std::shared_ptr<const Dataset> dataset;
        QString datasetPath;
        Preprocessing preprocessing;
        std::vector<std::size_t> indices;
        std::size_t calibrationImages = 500;
        SweepOptions options;
        std::optional<ProcessorParams> processor;
    };
    static std::shared_ptr<SweepResult> run(const Params &params, JobControl &control,
                                            const std::function<void(const SweepProgress &)> &progress);
};

// One finished fine-tuning run (core/tune/training.h): the tuned model (a separate copy of the project's model, its
// weights changed) and what train() reported.
struct TrainingOutcome {
    std::shared_ptr<Model> model;
    TrainingResult result;
    std::vector<EpochReport> epochs;
    Recipe recipe;
    QString checkpointDir;
};

// Fine-tuning of a fresh copy of the model file on the dataset's training split (validation on its test split).
struct TrainingJob {
    struct Params {
        QString modelPath, datasetPath;
        Preprocessing preprocessing;
        Recipe recipe;
        QString checkpointDir;
        bool resume = false;
        std::vector<float> thresholds;
        std::vector<std::vector<float>> channels;
        // More than 1: this process and processes - 1 sparsity-cli workers train as one group (LocalTrainingGroup).
        int processes = 1;
    };
    // `callbacks.epoch` also fills the outcome's epochs; the model is set only when the run finished.
    static std::shared_ptr<TrainingOutcome> run(const Params &params, JobControl &control, TrainingCallbacks callbacks);
};

// A finished method comparison (core/tune/comparison.h) with the fine-tuned model of every row, so any row can become
// the current state.
struct ComparisonOutcome {
    MethodComparison comparison;
    std::vector<std::shared_ptr<Model>> models; // parallel to comparison.methods
};

// ReLU / threshold-only / L1-only / STAR with the budget of one STAR recipe, each on a fresh copy of the model file.
struct ComparisonJob {
    struct Params {
        QString modelPath, datasetPath;
        Preprocessing preprocessing;
        std::shared_ptr<const Dataset> dataset; // the evaluation images
        std::vector<std::size_t> indices;
        Recipe star;
        std::vector<Recipe::Method> methods;
        QString checkpointRoot;
    };
    static std::shared_ptr<ComparisonOutcome> run(const Params &params, JobControl &control,
                                                  const std::function<void(const ComparisonProgress &)> &onMethod,
                                                  TrainingCallbacks callbacks);
};

} // namespace sparsity
