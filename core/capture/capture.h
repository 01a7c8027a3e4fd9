#pragma once

#include "data/dataset.h"
#include "capture/sitestats.h"

#include <atomic>
#include <cstdint>
#include <functional>
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

// Runs the model (with its current thresholds) over the chosen images of a dataset in inference mode,
// accumulating per-site statistics and accuracy. Decoding runs ahead in a BatchLoader. Honours `cancel`
// between batches (so within one batch). Throws sparsity::Error on a model/data mismatch.
CaptureResult capture(Model &model, const Dataset &dataset, const Preprocessing &preprocessing,
                      const std::vector<std::size_t> &indices, const CaptureOptions &options = {},
                      const std::atomic<bool> *cancel = nullptr, const CaptureCallback &progress = {});

// The same over batches already in memory (threshold search evaluates one calibration set many times).
CaptureResult capture(Model &model, const std::vector<Batch> &batches, const CaptureOptions &options = {},
                      const std::atomic<bool> *cancel = nullptr, const CaptureCallback &progress = {});

// Loads all chosen images into memory as batches.
std::vector<Batch> loadBatches(const Dataset &dataset, const Preprocessing &preprocessing,
                               const std::vector<std::size_t> &indices, std::size_t batchSize);

// Model output (logits) for one batch, flattened, with probes and thresholds (`instrumented`) or from a
// pristine copy of the archive with no probes at all (the reference for bit-exactness and benchmarks).
std::vector<float> forwardOutput(Model &model, const Batch &batch, bool instrumented, std::vector<std::int64_t> *shape = nullptr);

} // namespace sparsity
