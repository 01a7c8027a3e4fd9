#pragma once

#include "data/dataset.h"
#include "capture/sitestats.h"
#include "graph/site.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sparsity {

class Model;

struct CaptureOptions {
    std::size_t batchSize = 64;
    bool collectStats = true;                 // off: accuracy only (threshold search, quick checks)
    bool keepPredictions = true;              // one int per image
    std::vector<std::size_t> keepFeatureMaps; // dataset indices whose feature maps (and input) are kept
    int loaderWorkers = 2;
    // The thresholds this evaluation applies, checked and clamped once (checkedThresholds); the model's own
    // (Model::setThresholds) are back in place when the call returns. Unset: the model's own apply.
    std::optional<Thresholds> thresholds;
    // Run on the model's inference copy: frozen, BatchNorms folded into the convolutions' weights, optimised for
    // inference (Model::Impl::inferenceModule). Same probes and statistics; the folding changes the rounding of
    // the activations (docs/engine.md gives the measured effect on zero counts). Built on first use, rebuilt
    // when the weights change, never for a threshold change.
    bool inferenceCopy = false;
};

// Feature maps of one kept image: its preprocessed input and every site's output (C x H x W floats).
struct KeptImage {
    std::size_t datasetIndex = 0;
    int label = -1;
    std::vector<float> input; // C x H x W, preprocessed
    std::vector<std::int64_t> inputShape;
    std::vector<std::vector<float>> siteMaps; // [site] -> site.shape elements (empty if not executed)
};

struct CaptureResult {
    std::vector<SiteStats> sites; // parallel to Model::sites()
    std::int64_t images = 0;
    bool labelled = false;
    std::int64_t top1Correct = 0, top5Correct = 0;
    std::vector<std::int64_t> classCorrect, classTotal;
    std::vector<int> predictions;          // per image in `indices` order (if kept)
    std::vector<std::size_t> indices;      // dataset indices processed, in order
    std::vector<KeptImage> kept;
    double seconds = 0.0;
    bool cancelled = false;
    std::size_t skipped = 0;               // unreadable images, not counted anywhere else
    std::vector<std::string> skippedExamples;

    // Segmentation (a dataset with masks and an N x K x H x W output): pixel confusion counts, K x K, row = the
    // mask's class, column = the predicted class. Pixels marked kIgnoreClass are not scored.
    int segmentationClasses = 0;
    std::vector<std::int64_t> confusion;
    bool segmentation() const { return segmentationClasses > 0; }
    std::int64_t pixelsScored() const;
    double pixelAccuracy() const; // percent
    // Intersection over union per class, NaN for a class that is neither in any mask nor predicted anywhere.
    std::vector<double> classIoU() const;
    double meanIoU() const; // percent, over the classes that are not NaN
    // The accuracy budgets and comparisons use: mean IoU for segmentation, top-1 otherwise (percent).
    double score() const { return segmentation() ? meanIoU() : top1(); }

    double top1() const { return images ? 100.0 * double(top1Correct) / double(images) : 0.0; }
    double top5() const { return images ? 100.0 * double(top5Correct) / double(images) : 0.0; }
    // Over the sparsifiable activation sites that ran: zero elements / all elements.
    double activationSparsity(const std::vector<bool> &sparsifiable) const;
    // Nonzero activations per image over the same sites (the events an event-driven chip sees).
    double nonzerosPerImage(const std::vector<bool> &sparsifiable) const;
};

struct CaptureProgress {
    std::size_t imagesDone = 0;
    std::size_t imagesTotal = 0;
    double secondsElapsed = 0.0;
    double top1SoFar = 0.0;
};
using CaptureCallback = std::function<void(const CaptureProgress &)>;

// Runs the model (with options.thresholds, else its own) over the chosen images of a dataset in inference mode,
// accumulating per-site statistics and accuracy. Decoding runs ahead in a BatchLoader. Honours `cancel`
// between batches (so within one batch). Throws sparsity::Error on a model/data mismatch.
CaptureResult capture(Model &model, const Dataset &dataset, const Preprocessing &preprocessing,
                      const std::vector<std::size_t> &indices, const CaptureOptions &options = {},
                      const std::atomic<bool> *cancel = nullptr, const CaptureCallback &progress = {});

// The same over batches already in memory (threshold search evaluates one calibration set many times).
CaptureResult capture(Model &model, const std::vector<Batch> &batches, const CaptureOptions &options = {},
                      const std::atomic<bool> *cancel = nullptr, const CaptureCallback &progress = {});

// Exact evaluations of one in-memory subset with changing thresholds (the explorer's re-evaluation): each equals
// capture(model, batches, {thresholds, inferenceCopy}) bit for bit, but when the thresholds changed only at sites
// after a cut point, it restarts from that point's cached feature maps instead of from the images.
// Cut points: probe outputs that everything after them depends on alone (a residual network's block outputs),
// chosen deepest first within `budgetBytes` for the whole subset, at most four. The cache is filled by an
// evaluation from the images, survives threshold changes, and is dropped when the weights change (the inference
// copy is remade); another model, subset or preprocessing is another CachedEvaluation. Without an inference copy every
// evaluation starts from the images. Not thread-safe; the model's run lock serialises it with other work.
class CachedEvaluation {
public:
    static constexpr std::size_t kDefaultBudget = std::size_t(1) << 30;
    // `keepFeatureMaps`: dataset indices whose feature maps every evaluation keeps (CaptureOptions::keepFeatureMaps);
    // the maps of sites before a cut come from the evaluation that filled the cache (their thresholds are the same).
    CachedEvaluation(std::shared_ptr<Model> model, std::vector<Batch> batches, std::size_t budgetBytes = kDefaultBudget,
                     std::vector<std::size_t> keepFeatureMaps = {});
    ~CachedEvaluation();
    CachedEvaluation(const CachedEvaluation &) = delete;
    CachedEvaluation &operator=(const CachedEvaluation &) = delete;

    CaptureResult evaluate(const Thresholds &thresholds, const std::atomic<bool> *cancel = nullptr,
                           const CaptureCallback &progress = {});

    struct CutPoint {
        int site = -1;         // the site whose output is kept
        std::size_t bytes = 0; // for the whole subset
        bool filled = false;
    };
    std::vector<CutPoint> cutPoints() const;
    int lastStartSite() const; // the cut point the last evaluation started from; -1: from the images
    std::size_t cachedBytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

// The batch size captures use for inputs of `elementsPerImage` values (C x H x W): 64 for small inputs, fewer for
// large ones, at most 16 x 3 x 224 x 224 values per batch. Measured with bench_inference on torchvision ResNet-50
// at 224x224: batches of 16 capture 2.2x faster than batches of 64 (whose activations spill every cache and are
// page-faulted in again each batch).
std::size_t batchSizeFor(std::int64_t elementsPerImage);

// Loads all chosen images into memory as batches.
std::vector<Batch> loadBatches(const Dataset &dataset, const Preprocessing &preprocessing,
                               const std::vector<std::size_t> &indices, std::size_t batchSize);

// Model output (logits) for one batch, flattened, with probes and thresholds (`instrumented`) or from a
// pristine copy of the archive with no probes at all (the reference for bit-exactness and benchmarks).
// `thresholds` (instrumented only): this call's, as CaptureOptions::thresholds; null: the model's own.
std::vector<float> forwardOutput(Model &model, const Batch &batch, bool instrumented, std::vector<std::int64_t> *shape = nullptr,
                                 const Thresholds *thresholds = nullptr);

} // namespace sparsity
