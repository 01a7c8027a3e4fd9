#pragma once

#include "data/dataset.h"
#include "graph/site.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sparsity {

// The model's own description, read from the `sparsity_metadata.json` extra file of the archive when present.
struct ModelMetadata {
    bool present = false;
    std::string name;
    std::string task = "classification"; // or "segmentation"
    std::vector<std::int64_t> inputShape;  // C, H, W
    std::vector<float> mean, std;
    std::vector<std::string> classes;
    double recordedTop1 = -1.0;       // on the shipped test subset when recorded, else -1
    std::string json;                 // the whole file, for display
    // Names of the activation sites and conv/linear layers in graph order, written by our export: its graph is
    // inlined, so call stacks (and with them module paths) are gone when it is loaded again.
    std::vector<std::string> siteNames, layerNames;
};

// The archive's extra file that holds it, and its reader: throws Error naming `path` for invalid JSON or an
// input shape that is not [channels, height, width] within the size caps.
inline constexpr const char *kModelMetadataFile = "sparsity_metadata.json";
ModelMetadata parseModelMetadata(const std::string &json, const std::string &path);

// Which element of the forward's output holds the logits (or the segmentation map).
// Auto: a tensor is itself; a tuple or list gives its first tensor; a dict gives "out" when present,
// else its first entry in insertion order. Index/Key override that.
struct OutputSelection {
    enum class Rule { Auto, Index, Key } rule = Rule::Auto;
    int index = 0;
    std::string key;
};

// A loaded TorchScript model with one probe per activation site. Thresholds and statistics live in the
// probes' state, so changing them needs no reload. Not copyable; share with std::shared_ptr.
class Model {
public:
    // Throws sparsity::Error naming the file: not a zip, not TorchScript, truncated, forward signature unusable.
    static std::shared_ptr<Model> load(const std::string &path);
    ~Model();
    Model(const Model &) = delete;
    Model &operator=(const Model &) = delete;

    const std::string &path() const;
    const ModelMetadata &metadata() const;
    const std::vector<Site> &sites() const;
    const std::vector<ComputeLayer> &layers() const;
    // The instrumented forward graph as TorchScript IR text (probes included): for diagnostics and tests.
    std::string instrumentedGraphText() const;
    std::string forwardSignature() const;

    OutputSelection outputSelection() const;
    void setOutputSelection(const OutputSelection &selection);

    // Input shape (C,H,W) used for shape inference: from metadata, else set by the user or the dataset.
    std::vector<std::int64_t> inputShape() const;
    // Runs one forward pass on zeros of this shape to learn per-site shapes and consumer geometry.
    // Throws sparsity::Error explaining a shape mismatch (what the model wanted, what was given).
    void setInputShape(const std::vector<std::int64_t> &chw);

    // Preprocessing the model expects: from its metadata (size, mean/std), else the dataset's size with no
    // normalisation; `fallback` supplies what the metadata does not.
    Preprocessing defaultPreprocessing(const Preprocessing &fallback = Preprocessing::mnistLike28()) const;

    // Thresholds: one per site (ignored for dense sites); optional per-channel override.
    std::vector<float> thresholds() const;
    void setThresholds(const std::vector<float> &thresholds);
    // Both at once (restoring a saved state): the scalars, and the per-channel values of the first
    // perChannel.size() sites (usually all of them; an empty entry: the scalar applies).
    void setThresholds(const std::vector<float> &thresholds, const std::vector<std::vector<float>> &perChannel);
    void setThreshold(int site, float threshold);
    void setChannelThresholds(int site, const std::vector<float> &perChannel); // empty = use the scalar
    std::vector<float> channelThresholds(int site) const;                        // empty = the scalar applies
    std::vector<std::vector<float>> channelThresholds() const;                   // per site

    // Sites that were never executed in the last forward pass (e.g. in a branch not taken).
    bool siteExecuted(int site) const;

    // While capturing, a ReLU site fed only by an inference BatchNorm (optionally plus a residual add) computes them
    // in its own pass. The fold is checked against aten's ops on the site's first batch and dropped if it differs
    // (e.g. under ATen's kernels without FMA). Per site: not folded, not yet checked, exact, or differs.
    enum class BatchNormFold { None, Unchecked, Exact, Differs };
    std::vector<BatchNormFold> batchNormFolds() const;

    // Why evaluation on the inference copy (CaptureOptions::inferenceCopy) runs on the instrumented model instead;
    // empty while the copy works (or was never asked for).
    std::string inferenceCopyProblem() const;
    // How many times the inference copy was made: once, and again after each change of the weights.
    int inferenceCopyBuilds() const;
    // The inference copy's forward graph as text (empty before it is made): what the copy runs, for tests.
    std::string inferenceCopyGraphText() const;

    // Saves a standalone TorchScript archive in which every probe is replaced by standard ops
    // (aten::threshold, or a per-channel comparison), with `metadataJson` as its metadata extra file.
    // Refuses to overwrite the model's own input file; writes atomically.
    void exportThresholded(const std::string &outPath, const std::string &metadataJson) const;

    // Internal handle used by the capture and training code in core.
    struct Impl;
    Impl &impl() const { return *d; }

private:
    Model();
    std::unique_ptr<Impl> d;
};

// Sets LibTorch's intra-op thread count to the number of cores (Debian's build defaults to 1). Idempotent.
void initTorchThreads();

} // namespace sparsity
