#include "jobs.h"
#include "localtraininggroup.h"

#include "graph/model.h"
#include "io/workspace.h"
#include "error.h"

#include <algorithm>

namespace sparsity {

namespace {

std::shared_ptr<Snapshot> snapshotOf(const CaptureJob::Params &p, CaptureResult result)
{
    auto snap = std::make_shared<Snapshot>();
    snap->result = std::move(result);
    snap->thresholds = p.thresholds;
    snap->channelThresholds = p.channels;
    for (std::size_t i = 0; i < p.model->sites().size(); ++i)
        snap->executed.push_back(p.model->siteExecuted(int(i)));
    if (!snap->result.cancelled)
        snap->workload = workloadFromStats(p.model->layers(), p.model->sites(), snap->result.sites);
    return snap;
}

// The cache's evaluation of the subset, made on first use; null when the subset is too large to hold.
CachedEvaluation *cachedEvaluation(const CaptureJob::Params &p)
{
    EvaluationCache &cache = *p.cache;
    if (!cache.evaluation && !cache.unusable) {
        const std::size_t perImage = std::size_t(std::max(1, p.preprocessing.channels)) *
                                     std::size_t(std::max(1, p.preprocessing.height)) *
                                     std::size_t(std::max(1, p.preprocessing.width)) * sizeof(float);
        if (p.indices.size() > EvaluationCache::kInputBytes / perImage) {
            cache.unusable = true;
        } else {
            cache.evaluation = std::make_unique<CachedEvaluation>(
                p.model, loadBatches(*p.dataset, p.preprocessing, p.indices, p.options.batchSize),
                CachedEvaluation::kDefaultBudget, p.options.keepFeatureMaps);
        }
    }
    return cache.evaluation.get();
}

} // namespace

std::shared_ptr<Snapshot> CaptureJob::run(const Params &p, JobControl &control,
                                          const std::function<void(const CaptureProgress &)> &progress,
                                          const std::function<void(std::shared_ptr<Snapshot>)> &partial)
{
    Model &model = *p.model;
    CaptureOptions options = p.options;
    options.thresholds = Thresholds{p.thresholds, p.channels}; // for this capture only: a value, not model state
    options.inferenceCopy = bool(p.cache); // re-evaluations run on the inference copy, as the cache does
    if (!p.slice.empty() && partial) {
        auto quick = snapshotOf(p, capture(model, *p.dataset, p.preprocessing, p.slice, options, &control.cancel));
        if (!quick->result.cancelled && !control.cancel) {
            quick->sliceOf = p.indices.size();
            partial(std::move(quick));
        }
    }
    if (control.cancel)
        return {};
    if (CachedEvaluation *cached = p.cache ? cachedEvaluation(p) : nullptr)
        return snapshotOf(p, cached->evaluate(*options.thresholds, &control.cancel, progress));
    return snapshotOf(p, capture(model, *p.dataset, p.preprocessing, p.indices, options, &control.cancel, progress));
}

std::shared_ptr<SearchResult> SearchJob::run(const Params &p, JobControl &control,
                                             const std::function<void(const SearchProgress &)> &progress)
{
    const auto batches = loadBatches(*p.dataset, p.preprocessing, p.calibration, 64);
    p.model->setThresholds(p.thresholds, p.channels);
    return std::make_shared<SearchResult>(searchThresholds(*p.model, batches, p.options, &control.cancel, progress));
}

std::shared_ptr<SweepResult> SweepJob::run(const Params &p, JobControl &control,
                                           const std::function<void(const SweepProgress &)> &progress)
{
    std::vector<Batch> calibration;
    try {
        DatasetOptions trainOptions;
        trainOptions.split = Split::Train;
        const auto train = openDataset(p.datasetPath.toStdString(), trainOptions);
        const std::size_t n = std::min(p.calibrationImages, train->size());
        std::vector<std::size_t> last;
        for (std::size_t i = train->size() - n; i < train->size(); ++i)
            last.push_back(i);
        calibration = loadBatches(*train, p.preprocessing, last, 64);
    } catch (const Error &) {
        // No training split (an image folder, a test-only file): the first images of the subset.
        const std::size_t n = std::min(p.calibrationImages, p.indices.size());
        calibration = loadBatches(*p.dataset, p.preprocessing, {p.indices.begin(), p.indices.begin() + std::ptrdiff_t(n)}, 64);
    }
    const auto evaluation = loadBatches(*p.dataset, p.preprocessing, p.indices, 64);
    return std::make_shared<SweepResult>(runSweep(*p.model, calibration, evaluation, p.options,
                                                  p.processor ? &*p.processor : nullptr, &control.cancel, progress));
}

namespace {

// The model file loaded again, at the session's input size: training changes its weights, and undo can go back to
// the project's own copy.
std::shared_ptr<Model> freshModel(const QString &path, const Preprocessing &preprocessing)
{
    auto model = Model::load(path.toStdString());
    fitInputShape(*model, preprocessing);
    return model;
}

} // namespace

std::shared_ptr<TrainingOutcome> TrainingJob::run(const Params &p, JobControl &control, TrainingCallbacks callbacks)
{
    auto out = std::make_shared<TrainingOutcome>();
    out->recipe = p.recipe;
    out->checkpointDir = p.checkpointDir;
    auto model = freshModel(p.modelPath, p.preprocessing);
    model->setThresholds(p.thresholds, p.channels);
    const TrainingSplits splits = openTrainingSplits(p.datasetPath);
    TrainingData data = splits.data(p.preprocessing);
    callbacks.pause = &control.pause;
    callbacks.epoch = [epochs = &out->epochs, forward = callbacks.epoch](const EpochReport &e) {
        epochs->push_back(e); // read by the session's thread only after the job finished
        if (forward)
            forward(e);
    };
    std::unique_ptr<LocalTrainingGroup> local;
    if (p.processes > 1) {
        local = std::make_unique<LocalTrainingGroup>(p.processes, p.modelPath, p.datasetPath, p.preprocessing, out->recipe,
                                                     out->checkpointDir);
        data.group = local->group();
    }
    try {
        out->result = train(*model, out->recipe, data, out->checkpointDir.toStdString(), p.resume, &control.cancel, callbacks);
    } catch (const Error &e) {
        if (!local)
            throw;
        throw Error(std::string(e.what()) + local->workerFailures().toStdString());
    }
    if (local)
        local->finish(out->result.cancelled);
    out->model = std::move(model);
    return out;
}

std::shared_ptr<ComparisonOutcome> ComparisonJob::run(const Params &p, JobControl &control,
                                                      const std::function<void(const ComparisonProgress &)> &onMethod,
                                                      TrainingCallbacks callbacks)
{
    auto out = std::make_shared<ComparisonOutcome>();
    const TrainingSplits splits = openTrainingSplits(p.datasetPath);
    const TrainingData data = splits.data(p.preprocessing);
    std::vector<std::shared_ptr<Model>> created; // the original first, then one per method in order
    auto fresh = [&created, &p] {
        created.push_back(freshModel(p.modelPath, p.preprocessing));
        return created.back();
    };
    callbacks.pause = &control.pause;
    out->comparison = compareMethods(fresh, p.star, p.methods, data, *p.dataset, p.indices,
                                     p.checkpointRoot.toStdString(), &control.cancel, onMethod, callbacks);
    for (std::size_t i = 0; i < out->comparison.methods.size() && i + 1 < created.size(); ++i)
        out->models.push_back(created[i + 1]);
    return out;
}

} // namespace sparsity
