#include "capture/capture.h"

#include "error.h"
#include "graph/cutpoints_p.h"
#include "graph/model_p.h"

#include <torch/csrc/jit/api/function_impl.h>

#include <QScopeGuard>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace sparsity {

namespace {

at::Tensor batchTensor(const Batch &b)
{
    return torch::from_blob(const_cast<float *>(b.data.data()), {b.n, b.c, b.h, b.w}, torch::kFloat32);
}

// One evaluation's thresholds, checked and clamped once, in the probes' state for the duration of a run, and the
// model's own back afterwards; nothing when the run applies the model's own. The caller holds the run lock.
class RunThresholds {
public:
    RunThresholds(Model::Impl &d, const Thresholds *values) : d_(d)
    {
        if (!values)
            return;
        auto checked = checkedThresholds(d.sites, *values, d.path);
        saved_ = Thresholds{std::move(d.state->thresholds), std::move(d.state->channelThresholds)};
        d.state->thresholds = std::move(checked.scalar);
        d.state->channelThresholds = std::move(checked.perChannel);
    }
    ~RunThresholds()
    {
        if (saved_) {
            d_.state->thresholds = std::move(saved_->scalar);
            d_.state->channelThresholds = std::move(saved_->perChannel);
        }
    }
    RunThresholds(const RunThresholds &) = delete;
    RunThresholds &operator=(const RunThresholds &) = delete;

private:
    Model::Impl &d_;
    std::optional<Thresholds> saved_;
};

class CaptureRun {
public:
    CaptureRun(Model &model, const CaptureOptions &options)
        : d_(model.impl()), options_(options), lock_(d_.runMutex),
          thresholds_(d_, options.thresholds ? &*options.thresholds : nullptr)
    {
        auto &state = *d_.state;
        module_ = options.inferenceCopy ? &d_.inferenceModule() : &d_.module;
        state.collectStats = options.collectStats;
        state.stats.assign(d_.sites.size(), {});
        state.keptMaps.assign(d_.sites.size(), {});
        result_.sites.assign(d_.sites.size(), {});
        start_ = std::chrono::steady_clock::now();
    }
    ~CaptureRun()
    {
        d_.state->collectStats = false;
        d_.state->keepBatchPositions.clear();
    }

    // Runs one batch through the instrumented module, or through `forward` (an evaluation that starts from cached
    // feature maps) when given.
    void process(const Batch &batch, const std::function<at::Tensor()> &forward = {})
    {
        if (!d_.inputShape.empty() && (batch.c != d_.inputShape[0] || batch.h != d_.inputShape[1] || batch.w != d_.inputShape[2]))
            throw Error(d_.path + ": the model was set up for input " + shapeText(d_.inputShape) + " but the data gives " +
                        std::to_string(batch.c) + "x" + std::to_string(batch.h) + "x" + std::to_string(batch.w) +
                        "; change the preprocessing or the model's input shape");
        auto &state = *d_.state;
        state.keepBatchPositions.clear();
        std::vector<std::size_t> keptHere;
        for (int i = 0; i < batch.n; ++i)
            for (std::size_t want : options_.keepFeatureMaps)
                if (batch.indices.size() > std::size_t(i) && batch.indices[std::size_t(i)] == want) {
                    state.keepBatchPositions.push_back(i);
                    keptHere.push_back(std::size_t(i));
                }
        at::Tensor logits = forward ? forward() : d_.forward(*module_, batchTensor(batch));
        collectKept(batch, keptHere);
        score(batch, logits);
        result_.images += batch.n;
        for (auto i : batch.indices)
            result_.indices.push_back(i);
    }

    CaptureResult finish(bool cancelled)
    {
        result_.cancelled = cancelled;
        if (options_.collectStats)
            result_.sites = d_.state->stats;
        result_.seconds = elapsed();
        return std::move(result_);
    }

    torch::jit::Module &module() const { return *module_; }
    double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
    const CaptureResult &partial() const { return result_; }

private:
    static std::string shapeText(const std::vector<std::int64_t> &s)
    {
        std::string t;
        for (auto v : s)
            t += (t.empty() ? "" : "x") + std::to_string(v);
        return t;
    }

    void collectKept(const Batch &batch, const std::vector<std::size_t> &positions)
    {
        auto &state = *d_.state;
        for (std::size_t k = 0; k < positions.size(); ++k) {
            const std::size_t pos = positions[k];
            KeptImage img;
            img.datasetIndex = batch.indices[pos];
            img.label = batch.labels.size() > pos ? batch.labels[pos] : -1;
            const std::size_t per = std::size_t(batch.c) * std::size_t(batch.h) * std::size_t(batch.w);
            img.input.assign(batch.data.begin() + std::ptrdiff_t(pos * per), batch.data.begin() + std::ptrdiff_t((pos + 1) * per));
            img.inputShape = {batch.c, batch.h, batch.w};
            img.siteMaps.resize(d_.sites.size());
            for (std::size_t s = 0; s < d_.sites.size(); ++s) {
                if (state.keptMaps[s].empty())
                    continue;
                // Probes inside loops run more than once per batch: keep the first execution.
                auto t = state.keptMaps[s].front()[std::int64_t(k)].contiguous();
                img.siteMaps[s].assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
            }
            result_.kept.push_back(std::move(img));
        }
        for (auto &maps : state.keptMaps)
            maps.clear();
    }

    void score(const Batch &batch, const at::Tensor &output)
    {
        if (!batch.masks.empty()) {
            scoreMasks(batch, output);
            return;
        }
        const bool labelled = !batch.labels.empty() && batch.labels.front() >= 0;
        if (output.dim() != 2) {
            // Segmentation maps or features: no classification accuracy.
            return;
        }
        const auto classes = output.size(1);
        auto top = std::get<1>(output.topk(std::min<std::int64_t>(5, classes), 1)).contiguous();
        const auto k = top.size(1);
        const auto *idx = top.data_ptr<std::int64_t>();
        if (result_.classTotal.size() < std::size_t(classes)) {
            result_.classTotal.resize(std::size_t(classes), 0);
            result_.classCorrect.resize(std::size_t(classes), 0);
        }
        for (int i = 0; i < batch.n; ++i) {
            const auto pred = idx[i * k];
            if (options_.keepPredictions)
                result_.predictions.push_back(int(pred));
            if (!labelled)
                continue;
            result_.labelled = true;
            const int label = batch.labels[std::size_t(i)];
            if (label < 0 || label >= classes)
                throw Error("dataset label " + std::to_string(label) + " is out of range for a model with " +
                            std::to_string(classes) + " outputs (" + d_.path + ")");
            ++result_.classTotal[std::size_t(label)];
            if (pred == label) {
                ++result_.top1Correct;
                ++result_.classCorrect[std::size_t(label)];
            }
            for (std::int64_t j = 0; j < k; ++j)
                if (idx[i * k + j] == label)
                    ++result_.top5Correct;
        }
    }

    void scoreMasks(const Batch &batch, at::Tensor output)
    {
        if (output.dim() != 4 || output.size(0) != batch.n)
            throw Error(d_.path + ": the dataset has segmentation masks but the model output is " +
                        shapeText(output.sizes().vec()) + ", not N x classes x H x W; choose the output that holds the class scores");
        const auto classes = output.size(1);
        if (output.size(2) != batch.h || output.size(3) != batch.w) // torchvision's heads upsample like this
            output = at::upsample_bilinear2d(output.to(at::kFloat), std::vector<std::int64_t>{batch.h, batch.w}, false);
        auto predicted = output.argmax(1).reshape({-1});
        auto masks = torch::from_blob(const_cast<std::uint8_t *>(batch.masks.data()), {std::int64_t(batch.masks.size())}, at::kByte)
                         .to(at::kLong);
        auto scored = masks.ne(std::int64_t(kIgnoreClass));
        const auto tooLarge = masks.ge(classes).logical_and(scored);
        if (tooLarge.any().item<bool>()) {
            const auto pixel = tooLarge.nonzero()[0][0].item<std::int64_t>();
            const auto item = batch.indices[std::size_t(pixel / (std::int64_t(batch.h) * batch.w))];
            throw Error("the mask of dataset item " + std::to_string(item) + " holds class " +
                        std::to_string(masks[pixel].item<std::int64_t>()) + " but " + d_.path + " has " +
                        std::to_string(classes) + " output classes; the dataset and the model disagree on the classes");
        }
        auto pairs = (masks.masked_select(scored) * classes + predicted.masked_select(scored)).bincount({}, classes * classes);
        if (result_.segmentationClasses == 0) {
            result_.segmentationClasses = int(classes);
            result_.confusion.assign(std::size_t(classes * classes), 0);
        } else if (result_.segmentationClasses != classes) {
            throw Error(d_.path + ": the number of output classes changed between batches");
        }
        const auto *counts = pairs.data_ptr<std::int64_t>();
        for (std::int64_t i = 0; i < pairs.numel(); ++i)
            result_.confusion[std::size_t(i)] += counts[i];
    }

    Model::Impl &d_;
    CaptureOptions options_;
    std::unique_lock<std::mutex> lock_;
    RunThresholds thresholds_; // after the lock: made under it, undone before it is released
    torch::jit::Module *module_ = nullptr;
    CaptureResult result_;
    std::chrono::steady_clock::time_point start_;
};

} // namespace

double CaptureResult::activationSparsity(const std::vector<bool> &sparsifiable) const
{
    std::int64_t zeros = 0, elements = 0;
    for (std::size_t i = 0; i < sites.size() && i < sparsifiable.size(); ++i)
        if (sparsifiable[i]) {
            zeros += sites[i].zeros;
            elements += sites[i].elements;
        }
    return elements ? double(zeros) / double(elements) : 0.0;
}

std::int64_t CaptureResult::pixelsScored() const
{
    std::int64_t total = 0;
    for (auto c : confusion)
        total += c;
    return total;
}

double CaptureResult::pixelAccuracy() const
{
    std::int64_t correct = 0;
    for (int k = 0; k < segmentationClasses; ++k)
        correct += confusion[std::size_t(k * segmentationClasses + k)];
    const auto total = pixelsScored();
    return total ? 100.0 * double(correct) / double(total) : 0.0;
}

std::vector<double> CaptureResult::classIoU() const
{
    const auto k = std::size_t(segmentationClasses);
    std::vector<double> iou(k, std::nan(""));
    for (std::size_t c = 0; c < k; ++c) {
        std::int64_t inMask = 0, predicted = 0;
        for (std::size_t j = 0; j < k; ++j) {
            inMask += confusion[c * k + j];
            predicted += confusion[j * k + c];
        }
        const auto intersection = confusion[c * k + c];
        const auto unionCount = inMask + predicted - intersection;
        if (unionCount > 0)
            iou[c] = double(intersection) / double(unionCount);
    }
    return iou;
}

double CaptureResult::meanIoU() const
{
    double sum = 0.0;
    int n = 0;
    for (double v : classIoU())
        if (!std::isnan(v)) {
            sum += v;
            ++n;
        }
    return n ? 100.0 * sum / n : 0.0;
}

double CaptureResult::nonzerosPerImage(const std::vector<bool> &sparsifiable) const
{
    double total = 0;
    for (std::size_t i = 0; i < sites.size() && i < sparsifiable.size(); ++i)
        if (sparsifiable[i])
            total += sites[i].nonzerosPerImage();
    return total;
}

CaptureResult capture(Model &model, const Dataset &dataset, const Preprocessing &preprocessing,
                      const std::vector<std::size_t> &indices, const CaptureOptions &options,
                      const std::atomic<bool> *cancel, const CaptureCallback &progress)
{
    initTorchThreads();
    c10::InferenceMode inference;
    BatchLoader::Options loaderOptions;
    loaderOptions.batchSize = options.batchSize;
    loaderOptions.workers = options.loaderWorkers;
    // Before the loader is built: a shape mismatch is refused before any image is decoded or batch allocated.
    if (const auto chw = model.inputShape();
        chw.size() == 3 && (chw[0] != preprocessing.channels || chw[1] != preprocessing.height || chw[2] != preprocessing.width))
        throw Error(model.path() + ": the model was set up for input " + std::to_string(chw[0]) + "x" + std::to_string(chw[1]) +
                    "x" + std::to_string(chw[2]) + " but the preprocessing gives " +
                    std::to_string(preprocessing.channels) + "x" + std::to_string(preprocessing.height) + "x" +
                    std::to_string(preprocessing.width) + "; change the preprocessing or the model's input shape");
    BatchLoader loader(dataset, preprocessing, indices, loaderOptions);
    CaptureRun run(model, options);
    Batch batch;
    bool cancelled = false;
    while (loader.next(batch)) {
        if (cancel && cancel->load()) {
            cancelled = true;
            break;
        }
        run.process(batch);
        if (progress)
            progress({std::size_t(run.partial().images), indices.size(), run.elapsed(), run.partial().top1()});
    }
    auto result = run.finish(cancelled);
    result.skipped = loader.skippedCount();
    result.skippedExamples = loader.skippedExamples();
    if (!cancelled && result.images == 0 && result.skipped > 0) // nothing readable is an error, not a 0-image report
        throw Error(dataset.path() + ": none of the " + std::to_string(result.skipped) + " images could be read (" +
                    result.skippedExamples.front() + ")");
    return result;
}

CaptureResult capture(Model &model, const std::vector<Batch> &batches, const CaptureOptions &options,
                      const std::atomic<bool> *cancel, const CaptureCallback &progress)
{
    initTorchThreads();
    c10::InferenceMode inference;
    std::size_t total = 0;
    for (const auto &b : batches)
        total += std::size_t(b.n);
    CaptureRun run(model, options);
    bool cancelled = false;
    for (const auto &batch : batches) {
        if (cancel && cancel->load()) {
            cancelled = true;
            break;
        }
        run.process(batch);
        if (progress)
            progress({std::size_t(run.partial().images), total, run.elapsed(), run.partial().top1()});
    }
    return run.finish(cancelled);
}

struct CachedEvaluation::Impl {
    std::shared_ptr<Model> model;
    std::vector<Batch> batches;
    std::size_t budget = 0;
    std::vector<std::size_t> keep;
    struct Cut {
        int site = -1;
        std::size_t bytes = 0;
        std::unique_ptr<torch::jit::GraphFunction> tail;
        std::vector<bool> upstream;      // per site: runs before the cut (its statistics come from the cache)
        std::vector<at::Tensor> outputs; // per batch; empty until filled
    };
    std::vector<Cut> cuts; // deepest first
    int planFor = -1;      // the inference copy (its build count) the cuts and the cache belong to
    Thresholds filledWith; // thresholds of the evaluation that filled the cache
    std::vector<SiteStats> filledStats;
    std::vector<KeptImage> filledKept;
    int lastStart = -1;

    void plan(Model::Impl &m, torch::jit::Module &copy)
    {
        cuts.clear();
        planFor = m.inferenceBuilds;
        if (&copy == &m.module)
            return; // no inference copy: nothing to cut
        std::size_t images = 0;
        for (const auto &b : batches)
            images += std::size_t(b.n);
        auto forward = copy.get_method("forward").graph();
        auto candidates = graph::cutSites(*forward);
        std::size_t left = budget;
        for (auto it = candidates.rbegin(); it != candidates.rend() && cuts.size() < 4; ++it) {
            const auto &site = m.sites[std::size_t(*it)];
            const std::size_t bytes = std::size_t(std::max<std::int64_t>(0, site.elementsPerImage)) * sizeof(float) * images;
            if (bytes == 0 || bytes > left || (!cuts.empty() && it != candidates.rbegin() && *(it - 1) == cuts.back().site))
                continue; // too big, or right next to the deeper cut just taken
            auto tail = graph::tailGraph(*forward, *it);
            if (!tail)
                continue;
            Cut cut;
            cut.site = *it;
            cut.bytes = bytes;
            cut.upstream.assign(m.sites.size(), true);
            std::function<void(torch::jit::Block *)> walk = [&](torch::jit::Block *b) {
                for (auto *n : b->nodes()) {
                    if (const int s = graph::probeSite(n); s >= 0)
                        cut.upstream[std::size_t(s)] = false;
                    for (auto *sub : n->blocks())
                        walk(sub);
                }
            };
            walk(tail->block());
            // A cut is worth keeping only when some threshold after it can change.
            bool downstreamThresholds = false;
            for (std::size_t s = 0; s < m.sites.size(); ++s)
                downstreamThresholds |= !cut.upstream[s] && m.sites[s].sparsifiable;
            if (!downstreamThresholds)
                continue;
            cut.tail = std::make_unique<torch::jit::GraphFunction>("sparsity_tail_" + std::to_string(*it), tail, nullptr);
            left -= bytes;
            cuts.push_back(std::move(cut));
        }
    }

    // The deepest filled cut before which every site keeps the thresholds the cache was filled with.
    Cut *startFor(const Thresholds &t)
    {
        for (auto &cut : cuts) {
            if (cut.outputs.size() != batches.size())
                continue;
            bool same = true;
            for (std::size_t s = 0; s < cut.upstream.size() && same; ++s)
                same = !cut.upstream[s] ||
                       (t.scalar[s] == filledWith.scalar[s] && t.perChannel[s] == filledWith.perChannel[s]);
            if (same)
                return &cut;
        }
        return nullptr;
    }
};

CachedEvaluation::CachedEvaluation(std::shared_ptr<Model> model, std::vector<Batch> batches, std::size_t budgetBytes,
                                   std::vector<std::size_t> keepFeatureMaps)
    : d(std::make_unique<Impl>())
{
    d->model = std::move(model);
    d->batches = std::move(batches);
    d->budget = budgetBytes;
    d->keep = std::move(keepFeatureMaps);
}

CachedEvaluation::~CachedEvaluation() = default;

CaptureResult CachedEvaluation::evaluate(const Thresholds &thresholds, const std::atomic<bool> *cancel, const CaptureCallback &progress)
{
    initTorchThreads();
    c10::InferenceMode inference;
    auto &m = d->model->impl();
    CaptureOptions options;
    options.inferenceCopy = true;
    options.keepFeatureMaps = d->keep;
    options.thresholds = checkedThresholds(m.sites, thresholds, m.path);
    const Thresholds &t = *options.thresholds;
    CaptureRun run(*d->model, options); // holds the model's run lock, applies t, makes the inference copy
    if (d->planFor != m.inferenceBuilds)
        d->plan(m, run.module());
    Impl::Cut *start = d->startFor(t);
    d->lastStart = start ? start->site : -1;
    auto &state = *m.state;
    if (!start) {
        state.cacheOutputs.assign(m.sites.size(), false);
        state.cachedOutputs.assign(m.sites.size(), {});
        for (auto &cut : d->cuts) {
            state.cacheOutputs[std::size_t(cut.site)] = true;
            cut.outputs.clear();
        }
    }
    auto stopCaching = qScopeGuard([&] { state.cacheOutputs.clear(); state.cachedOutputs.clear(); });
    std::size_t total = 0;
    for (const auto &b : d->batches)
        total += std::size_t(b.n);
    const c10::IValue self = run.module()._ivalue();
    bool cancelled = false;
    for (std::size_t i = 0; i < d->batches.size(); ++i) {
        if (cancel && cancel->load()) {
            cancelled = true;
            break;
        }
        if (start)
            run.process(d->batches[i], [&] { return m.selectOutput((*start->tail)({self, start->outputs[i]})); });
        else {
            run.process(d->batches[i]);
            for (auto &cut : d->cuts)
                cut.outputs.push_back(std::move(state.cachedOutputs[std::size_t(cut.site)]));
        }
        if (progress)
            progress({std::size_t(run.partial().images), total, run.elapsed(), run.partial().top1()});
    }
    auto result = run.finish(cancelled);
    if (start) {
        for (std::size_t s = 0; s < result.sites.size(); ++s)
            if (start->upstream[s]) {
                result.sites[s] = d->filledStats[s];
                for (std::size_t k = 0; k < result.kept.size() && k < d->filledKept.size(); ++k)
                    result.kept[k].siteMaps[s] = d->filledKept[k].siteMaps[s];
            }
    } else if (!cancelled) {
        d->filledWith = t;
        d->filledStats = result.sites;
        d->filledKept = result.kept;
    } else {
        for (auto &cut : d->cuts)
            cut.outputs.clear();
    }
    return result;
}

std::vector<CachedEvaluation::CutPoint> CachedEvaluation::cutPoints() const
{
    std::vector<CutPoint> points;
    for (const auto &cut : d->cuts)
        points.push_back({cut.site, cut.bytes, cut.outputs.size() == d->batches.size()});
    return points;
}

int CachedEvaluation::lastStartSite() const
{
    return d->lastStart;
}

std::size_t CachedEvaluation::cachedBytes() const
{
    std::size_t bytes = 0;
    for (const auto &cut : d->cuts)
        for (const auto &t : cut.outputs)
            bytes += std::size_t(t.numel()) * t.element_size();
    return bytes;
}

std::size_t batchSizeFor(std::int64_t elementsPerImage)
{
    constexpr std::int64_t kBatchElements = 16 * 3 * 224 * 224;
    return std::size_t(std::clamp<std::int64_t>(kBatchElements / std::max<std::int64_t>(1, elementsPerImage), 1, 64));
}

std::vector<Batch> loadBatches(const Dataset &dataset, const Preprocessing &preprocessing,
                               const std::vector<std::size_t> &indices, std::size_t batchSize)
{
    BatchLoader::Options options;
    options.batchSize = batchSize;
    BatchLoader loader(dataset, preprocessing, indices, options);
    std::vector<Batch> batches;
    Batch batch;
    while (loader.next(batch))
        batches.push_back(batch);
    return batches;
}

std::vector<float> forwardOutput(Model &model, const Batch &batch, bool instrumented, std::vector<std::int64_t> *shape,
                                 const Thresholds *thresholds)
{
    initTorchThreads();
    c10::InferenceMode inference;
    auto &d = model.impl();
    at::Tensor out;
    if (instrumented) {
        std::lock_guard<std::mutex> lock(d.runMutex);
        const RunThresholds apply(d, thresholds);
        out = d.forward(batchTensor(batch));
    } else {
        std::lock_guard<std::mutex> lock(d.runMutex);
        if (!d.pristine) {
            std::istringstream bytes(d.bytes);
            d.pristine = std::make_unique<torch::jit::Module>(torch::jit::load(bytes, c10::kCPU));
            d.pristine->eval();
        }
        out = d.selectOutput(d.pristine->forward({batchTensor(batch)}));
    }
    out = out.contiguous().to(torch::kFloat32);
    if (shape)
        *shape = out.sizes().vec();
    return std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
}

} // namespace sparsity
