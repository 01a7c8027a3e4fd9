#include "session.h"

#include "graph/model.h"
#include "jobtracker.h"
#include "undocommands.h"

#include <QCoreApplication>
#include <QDir>
#include <QTimer>
#include <QUndoStack>

#include <algorithm>
#include <chrono>

// Launching the four job kinds on the workers and applying what they deliver. The work itself is in jobs.cpp; the
// "latest wins" bookkeeping in jobtracker.cpp.
namespace sparsity {

namespace {

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

bool Session::isBusy() const { return jobs_->isBusy(); }

bool Session::isTraining() const { return bool(jobs_->latest(JobKind::Training)); }

void Session::startBaselineCapture() { runCapture(JobKind::Baseline); }

void Session::requestReevaluation()
{
    if (model_ && dataset_)
        reevaluateTimer_->start();
}

void Session::cancelJobs()
{
    reevaluateTimer_->stop();
    jobs_->cancelAll();
}

void Session::waitForIdle()
{
    while (jobs_->isBusy() || reevaluateTimer_->isActive())
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 50);
}

// ---- Captures ----------------------------------------------------------------------------------------------

void Session::runCapture(JobKind kind)
{
    if (!model_ || !dataset_ || indices_.empty())
        return;
    const bool baseline = kind == JobKind::Baseline;
    if (baseline)
        jobs_->cancel(JobKind::Current); // restarted after the new baseline
    if (!baseline && baseline_ && !isTuned() && baseline_->thresholds == thresholds_ &&
        baseline_->channelThresholds == channelThresholds_) {
        // Back to the baseline's thresholds (an undo): its capture is the current one, measured on the same path.
        jobs_->cancel(JobKind::Current);
        current_ = baseline_;
        updateProjection();
        notify(ChangeEvent::Kind::Current);
        return;
    }
    auto job = jobs_->begin(kind, baseline ? tr("Baseline capture") : tr("Re-evaluating thresholds"));

    CaptureJob::Params params;
    // The baseline always runs the model as loaded, also after a training run replaced the current one.
    params.model = baseline ? baseModel_ : model_;
    params.dataset = dataset_;
    params.preprocessing = preprocessing_;
    params.indices = indices_;
    params.options.keepFeatureMaps = kept_;
    params.options.batchSize =
        batchSizeFor(std::int64_t(preprocessing_.channels) * preprocessing_.height * preprocessing_.width);
    params.thresholds = baseline ? initialThresholds_ : thresholds_;
    // Per-channel thresholds come from the project (the CLI writes them); the baseline runs without them.
    params.channels = baseline ? std::vector<std::vector<float>>(channelThresholds_.size()) : channelThresholds_;
    if (!baseline) {
        params.cache = evaluationCache();
        params.slice = quickSlice();
    }
    auto progress = [this, job](const CaptureProgress &p) {
        if (p.imagesDone)
            jobs_->postProgress(job, qint64(p.imagesDone), qint64(p.imagesTotal),
                                p.secondsElapsed / double(p.imagesDone) * double(p.imagesTotal - p.imagesDone));
    };
    auto partial = [this, job](std::shared_ptr<Snapshot> slice) {
        jobs_->post(job, [this, slice] { showSlice(slice); });
    };
    jobs_->run<Snapshot>(
        pool_, job, [params, job, progress, partial] { return CaptureJob::run(params, *job, progress, partial); },
        [this, job](std::shared_ptr<Snapshot> snapshot, QString error) { finishCapture(job, std::move(snapshot), error); });
}

std::shared_ptr<EvaluationCache> Session::evaluationCache()
{
    const auto &c = evaluationCache_;
    if (!c || c->model != model_ || c->indices != indices_ || c->kept != kept_ || !(c->preprocessing == preprocessing_)) {
        evaluationCache_ = std::make_shared<EvaluationCache>();
        evaluationCache_->model = model_;
        evaluationCache_->indices = indices_;
        evaluationCache_->kept = kept_;
        evaluationCache_->preprocessing = preprocessing_;
    }
    return evaluationCache_;
}

std::vector<std::size_t> Session::quickSlice() const
{
    const std::size_t n = std::max(kSliceMinImages, indices_.size() / kSliceShare);
    if (lastFullSeconds_ <= sliceAfterSeconds_ || !dataset_ || indices_.size() < 2 * n)
        return {};
    // The kept images too, so that the heatmap has their maps from the first result on.
    std::vector<std::size_t> slice = stratifiedSlice(*dataset_, indices_, n);
    for (std::size_t k : kept_)
        if (!std::binary_search(slice.begin(), slice.end(), k)) // slice is ascending
            slice.insert(std::upper_bound(slice.begin(), slice.end(), k), k);
    return slice;
}

void Session::showSlice(std::shared_ptr<Snapshot> slice)
{
    // A slice of thresholds that are no longer shown would replace a result the user still reads: keep that one.
    if (!slice || slice->thresholds != thresholds_ || slice->channelThresholds != channelThresholds_)
        return;
    current_ = std::move(slice);
    updateProjection();
    notify(ChangeEvent::Kind::Current);
}

void Session::finishCapture(const std::shared_ptr<JobControl> &job, std::shared_ptr<Snapshot> snapshot,
                            const QString &error)
{
    JobReport report{job->id, job->kind, JobReport::Outcome::Done, {}, error};
    if (!jobs_->end(job)) { // superseded or cancelled: its result is stale
        if (!jobs_->isBusy()) {
            report.outcome = JobReport::Outcome::Cancelled;
            jobs_->report(report);
        }
        return;
    }
    if (!error.isEmpty()) {
        report.outcome = JobReport::Outcome::Failed;
        return jobs_->report(report);
    }
    if (!snapshot || snapshot->result.cancelled) {
        report.outcome = JobReport::Outcome::Cancelled;
        return jobs_->report(report);
    }
    executed_ = snapshot->executed;
    lastFullSeconds_ = snapshot->result.seconds;
    if (job->kind == JobKind::Baseline) {
        baseline_ = snapshot;
        // The baseline doubles as the current capture only when the current state runs the same model.
        if (!isTuned() && snapshot->thresholds == thresholds_ && snapshot->channelThresholds == channelThresholds_)
            current_ = snapshot;
        else
            current_.reset();
        notify(ChangeEvent::Kind::Baseline);
        if (!current_)
            runCapture(JobKind::Current);
    } else {
        current_ = snapshot;
    }
    updateProjection();
    notify(ChangeEvent::Kind::Current);
    jobs_->report(report);
}

// ---- Threshold search -------------------------------------------------------------------------------------

void Session::startThresholdSearch(const SearchOptions &options, std::size_t calibrationImages)
{
    if (!model_ || !dataset_ || indices_.empty())
        return;
    auto job = jobs_->begin(JobKind::Search, tr("Threshold search (budget %1 pp)").arg(options.budgetPp));
    SearchJob::Params params{model_,
                             dataset_,
                             preprocessing_,
                             std::vector<std::size_t>(indices_.begin(),
                                                      indices_.begin() +
                                                          std::ptrdiff_t(std::min(calibrationImages, indices_.size()))),
                             options,
                             thresholds_,
                             channelThresholds_};
    auto progress = [this, job, started = std::chrono::steady_clock::now()](const SearchProgress &p) {
        if (p.evaluation <= 0)
            return;
        const int planned = std::max(p.evaluationsPlanned, p.evaluation);
        jobs_->postProgress(job, p.evaluation, planned, secondsSince(started) / p.evaluation * double(planned - p.evaluation));
    };
    jobs_->run<SearchResult>(
        pool_, job, [params, job, progress] { return SearchJob::run(params, *job, progress); },
        [this, job](std::shared_ptr<SearchResult> result, QString error) {
            if (jobs_->end(job))
                finishSearch(job, std::move(result), error);
            else if (!jobs_->isBusy())
                jobs_->report({job->id, job->kind, JobReport::Outcome::Cancelled, {}, {}});
        });
}

void Session::finishSearch(const std::shared_ptr<JobControl> &job, std::shared_ptr<SearchResult> result,
                           const QString &error)
{
    JobReport report{job->id, JobKind::Search, JobReport::Outcome::Done, {}, error};
    if (!error.isEmpty()) {
        report.outcome = JobReport::Outcome::Failed;
        return jobs_->report(report);
    }
    if (!result || result->cancelled) {
        report.outcome = JobReport::Outcome::Cancelled;
        return jobs_->report(report);
    }
    const SearchResult &r = *result;
    // Edits made while the search ran are replaced by its result; undo brings them back.
    pushThresholds(r.thresholds, tr("Threshold search"), r.channelThresholds);
    report.summary = tr("Threshold search: sparsity %1 % → %2 %, calibration top-1 %3 % → %4 % (%5 evaluations, %6 s)")
                         .arg(100.0 * r.startSparsity, 0, 'f', 1)
                         .arg(100.0 * r.finalSparsity, 0, 'f', 1)
                         .arg(r.startTop1, 0, 'f', 2)
                         .arg(r.finalTop1, 0, 'f', 2)
                         .arg(r.evaluations)
                         .arg(r.seconds, 0, 'f', 1);
    jobs_->report(report);
}

// ---- Sweep ----------------------------------------------------------------------------------------------

void Session::startSweep(const SweepOptions &options, std::size_t calibrationImages)
{
    if (!model_ || !dataset_ || indices_.empty())
        return;
    checkSweepValues(options.rule, options.values, "sweep");
    auto job = jobs_->begin(JobKind::Sweep, tr("Sweep (%1 points, %2)").arg(options.values.size()).arg(QString::fromUtf8(sweepRuleName(options.rule))));
    SweepJob::Params params{model_, dataset_, project_.datasetPath, preprocessing_, indices_, calibrationImages, options, {}};
    if (presetIndex_ >= 0 && presets_[std::size_t(presetIndex_)].valid)
        params.processor = presets_[std::size_t(presetIndex_)].params;
    auto progress = [this, job, started = std::chrono::steady_clock::now()](const SweepProgress &p) {
        if (p.fraction <= 0.0)
            return;
        const double elapsed = secondsSince(started);
        jobs_->postProgress(job, qint64(1000.0 * p.fraction), 1000, elapsed / p.fraction * (1.0 - p.fraction));
    };
    jobs_->run<SweepResult>(
        pool_, job, [params, job, progress] { return SweepJob::run(params, *job, progress); },
        [this, job, model = model_](std::shared_ptr<SweepResult> result, QString error) {
            if (jobs_->end(job) && model == model_)
                finishSweep(job, std::move(result), error);
            else if (!jobs_->isBusy())
                jobs_->report({job->id, job->kind, JobReport::Outcome::Cancelled, {}, {}});
        });
}

void Session::finishSweep(const std::shared_ptr<JobControl> &job, std::shared_ptr<SweepResult> result, const QString &error)
{
    JobReport report{job->id, JobKind::Sweep, JobReport::Outcome::Done, {}, error};
    if (!error.isEmpty()) {
        report.outcome = JobReport::Outcome::Failed;
        return jobs_->report(report);
    }
    if (!result || result->points.empty()) {
        report.outcome = JobReport::Outcome::Cancelled;
        return jobs_->report(report);
    }
    if (result->cancelled)
        report.outcome = JobReport::Outcome::Cancelled; // the finished points are still shown
    int front = 0;
    for (const SweepPoint &p : result->points)
        front += p.pareto ? 1 : 0;
    report.summary = tr("Sweep: %1 points (%2 on the front) on %3 images, %4 s")
                         .arg(result->points.size())
                         .arg(front)
                         .arg(result->evaluationImages)
                         .arg(result->seconds, 0, 'f', 1);
    lastSweep_ = std::move(result);
    notify(ChangeEvent::Kind::Sweep);
    jobs_->report(report);
}

void Session::applySweepPoint(int index)
{
    if (!lastSweep_ || index < 0 || std::size_t(index) >= lastSweep_->points.size())
        return;
    const SweepPoint &p = lastSweep_->points[std::size_t(index)];
    pushThresholds(p.thresholds.scalar, tr("Sweep point: top-1 %1 %, %2 nonzeros per image").arg(p.score, 0, 'f', 2).arg(p.nonzerosPerImage, 0, 'f', 0),
                   p.thresholds.perChannel);
}

// ---- Training and comparison ------------------------------------------------------------------------------

TrainingCallbacks Session::trainingCallbacks(const std::shared_ptr<JobControl> &job, int epochsTotal)
{
    TrainingCallbacks callbacks;
    callbacks.step = [this, job, epochsTotal, started = std::chrono::steady_clock::now()](const TrainingStep &st) {
        const double elapsed = secondsSince(started);
        jobs_->post(job, [this, st, elapsed, epochsTotal] {
            Q_EMIT trainingStep(st);
            const qint64 total = qint64(std::max(1, epochsTotal)) * std::max(1, st.stepsPerEpoch);
            const qint64 done = std::min(total, qint64(st.epoch) * st.stepsPerEpoch + st.step + 1);
            Q_EMIT jobs_->progress(done, total, elapsed / double(std::max<qint64>(1, done)) * double(total - done));
        });
    };
    callbacks.epoch = [this, job](const EpochReport &e) { jobs_->post(job, [this, e] { Q_EMIT trainingEpoch(e); }); };
    callbacks.message = [this, job](const std::string &m) {
        jobs_->post(job, [this, m = QString::fromStdString(m)] { Q_EMIT trainingMessage(m); });
    };
    return callbacks;
}

void Session::startTraining(const Recipe &recipe, const QString &checkpointDir, bool resume, int processes)
{
    if (!model_ || !dataset_ || isTraining())
        return;
    setRecipe(recipe);
    auto job = jobs_->begin(JobKind::Training, resume ? tr("Resuming fine-tuning")
                                                      : tr("Fine-tuning (%1)").arg(QString::fromUtf8(methodName(recipe.method))));
    const TrainingJob::Params params{project_.modelPath, project_.datasetPath, preprocessing_, recipe, checkpointDir,
                                     resume,             thresholds_,          channelThresholds_, processes};
    const TrainingCallbacks callbacks =
        trainingCallbacks(job, recipe.regularizeEpochs + recipe.finetuneEpochs * std::max(1, recipe.rounds));
    jobs_->run<TrainingOutcome>(
        trainingPool_, job, [params, job, callbacks] { return TrainingJob::run(params, *job, callbacks); },
        [this, job, params](std::shared_ptr<TrainingOutcome> out, QString error) {
            if (!out && error.isEmpty()) { // cancelled before it started
                out = std::make_shared<TrainingOutcome>();
                out->result.cancelled = true;
                out->checkpointDir = params.checkpointDir;
            }
            finishTraining(job, std::move(out), error);
        });
}

void Session::cancelTraining() { jobs_->requestStop(JobKind::Training); }

void Session::setTrainingPaused(bool paused) { jobs_->setPaused(JobKind::Training, paused); }

bool Session::isTrainingPaused() const { return jobs_->isPaused(JobKind::Training); }

bool Session::reportedWithoutResult(const std::shared_ptr<JobControl> &job, JobReport &report, const QString &stopped,
                                    const QString &failed)
{
    if (!jobs_->end(job))
        report.summary = stopped;
    else if (!report.error.isEmpty()) {
        report.outcome = JobReport::Outcome::Failed;
        report.summary = failed.arg(report.error);
    } else
        return false;
    jobs_->report(report);
    return true;
}

void Session::finishTraining(const std::shared_ptr<JobControl> &job, std::shared_ptr<TrainingOutcome> out,
                             const QString &error)
{
    JobReport report{job->id, JobKind::Training, JobReport::Outcome::Cancelled, {}, error};
    if (reportedWithoutResult(job, report, tr("Training stopped; Resume continues from the last checkpoint."), tr("Training failed: %1")))
        return;
    if (out->result.cancelled || !out->model) {
        report.summary = tr("Cancelled after %n finished epoch(s); Resume continues from %1.", nullptr, out->result.epochsDone)
                             .arg(QDir::toNativeSeparators(out->checkpointDir));
        return jobs_->report(report);
    }
    lastTraining_ = out;
    undoStack_->push(new ApplyTraining(this, out->model, out->result.thresholds, out->result.channelThresholds,
                                       tr("Fine-tuning (%1)").arg(QString::fromUtf8(methodName(out->recipe.method)))));
    report.outcome = JobReport::Outcome::Done;
    report.summary = tr("Fine-tuned in %1 s: validation top-1 %2 %, sparsity %3 %. Checkpoints in %4.")
                         .arg(out->result.seconds, 0, 'f', 1)
                         .arg(out->result.validationTop1, 0, 'f', 2)
                         .arg(100.0 * out->result.validationSparsity, 0, 'f', 1)
                         .arg(QDir::toNativeSeparators(out->checkpointDir));
    jobs_->report(report);
}

void Session::startComparison(const Recipe &star, const std::vector<Recipe::Method> &methods)
{
    if (!model_ || !dataset_ || isTraining() || methods.empty())
        return;
    auto job = jobs_->begin(JobKind::Comparison, tr("Comparing %n method(s)", nullptr, int(methods.size())));
    const ComparisonJob::Params params{project_.modelPath, project_.datasetPath, preprocessing_, dataset_, indices_,
                                       star, methods, defaultCheckpointDir() + QStringLiteral("/compare")};
    auto onMethod = [this, job](const ComparisonProgress &p) {
        jobs_->post(job, [this, p] {
            Q_EMIT comparisonProgress(p.methodIndex, p.methodCount, QString::fromUtf8(methodName(p.method)));
            Q_EMIT jobs_->progress(p.methodIndex, p.methodCount, 0.0);
        });
    };
    jobs_->run<ComparisonOutcome>(
        trainingPool_, job, [params, job, onMethod] { return ComparisonJob::run(params, *job, onMethod, {}); },
        [this, job](std::shared_ptr<ComparisonOutcome> out, QString error) {
            if (!out && error.isEmpty()) { // cancelled before it started
                out = std::make_shared<ComparisonOutcome>();
                out->comparison.cancelled = true;
            }
            finishComparison(job, std::move(out), error);
        });
}

void Session::finishComparison(const std::shared_ptr<JobControl> &job, std::shared_ptr<ComparisonOutcome> out,
                               const QString &error)
{
    JobReport report{job->id, JobKind::Comparison, JobReport::Outcome::Cancelled, {}, error};
    if (reportedWithoutResult(job, report, tr("Comparison stopped."), tr("Comparison failed: %1")))
        return;
    lastComparison_ = out;
    const auto &c = out->comparison;
    const bool completed = !c.cancelled && out->models.size() == c.methods.size();
    report.outcome = completed ? JobReport::Outcome::Done : JobReport::Outcome::Cancelled;
    report.summary = completed ? tr("Compared %n method(s) on %1 images, %2 epochs each.", nullptr, int(c.methods.size()))
                                     .arg(c.evaluationImages)
                                     .arg(c.epochs)
                               : tr("Cancelled after %n method(s).", nullptr, int(c.methods.size()));
    jobs_->report(report);
}

void Session::applyComparisonRow(int row)
{
    if (!lastComparison_ || row < 0 || std::size_t(row) >= lastComparison_->models.size())
        return;
    const MethodOutcome &o = lastComparison_->comparison.methods[std::size_t(row)];
    undoStack_->push(new ApplyTraining(this, lastComparison_->models[std::size_t(row)], o.thresholds, o.channelThresholds,
                                       tr("Make %1 the current state").arg(QString::fromUtf8(methodName(o.method)))));
}

void Session::setCurrentModel(const std::shared_ptr<Model> &model, const std::vector<float> &thresholds,
                              const std::vector<std::vector<float>> &channels)
{
    if (!model || thresholds.size() != thresholds_.size() || model->sites().size() != sites().size())
        return;
    if (model_ != model && lastSweep_) {
        lastSweep_.reset(); // its figures were measured with other weights
        notify(ChangeEvent::Kind::Sweep);
    }
    model_ = model;
    evaluationCache_.reset(); // the next re-evaluation caches the new weights' feature maps
    channelThresholds_ = channels.size() == thresholds.size() ? channels : std::vector<std::vector<float>>(thresholds.size());
    QVector<int> all;
    for (std::size_t i = 0; i < thresholds.size(); ++i) {
        thresholds_[i] = clampedThreshold(sites()[i], thresholds[i]);
        all << int(i);
    }
    jobs_->cancel(JobKind::Current);
    // The current capture ran another model: drop it until the new one arrives (the baseline stays).
    current_.reset();
    notify(ChangeEvent::Kind::Thresholds, all);
    notify(ChangeEvent::Kind::Current);
    updateProjection();
    reevaluateTimer_->stop();
    runCapture(JobKind::Current);
}

} // namespace sparsity
