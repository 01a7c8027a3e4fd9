#include "document.h"

#include "error.h"
#include "graph/model.h"
#include "hardware/processorpreset.h"
#include "io/report.h"
#include "undocommands.h"
#include "graph/weights.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QUndoStack>

#include <algorithm>
#include <chrono>

namespace sparsity::ui {

struct Document::Job {
    int id = 0;
    JobKind kind = JobKind::Current;
    std::atomic<bool> cancel{false};
    std::atomic<bool> pause{false}; // training and comparison: the step loop waits while set
    std::vector<float> thresholds;
    std::shared_ptr<Snapshot> snapshot; // null when cancelled before it started or failed
    std::shared_ptr<SearchResult> search;
    std::shared_ptr<TrainingOutcome> training;
    std::shared_ptr<ComparisonOutcome> comparison;
    QString error;
};

namespace {

const std::vector<Site> &noSites()
{
    static const std::vector<Site> empty;
    return empty;
}

std::vector<std::size_t> chooseIndices(const Dataset &dataset, const SubsetSpec &subset)
{
    switch (subset.mode) {
    case SubsetSpec::Mode::First: return firstN(dataset, subset.count);
    case SubsetSpec::Mode::Random: return randomN(dataset, subset.count, subset.seed);
    case SubsetSpec::Mode::Stratified: return stratifiedN(dataset, subset.count, subset.seed);
    }
    return {};
}

// "NAME" of NAME.sparsity.json or NAME.json: the stem of the files that go next to a project.
QString projectStem(const QFileInfo &info)
{
    QString base = info.fileName();
    for (const QString &suffix : {QStringLiteral(".sparsity.json"), QStringLiteral(".json")})
        if (base.endsWith(suffix)) {
            base.chop(suffix.size());
            break;
        }
    return base;
}

} // namespace

Document::Document(QObject *parent)
    : QObject(parent), undoStack_(new QUndoStack(this)), reevaluateTimer_(new QTimer(this))
{
    pool_.setMaxThreadCount(1);
    trainingPool_.setMaxThreadCount(1);
    // Coalesces the moves of one drag; the job tracker below still drops anything superseded.
    reevaluateTimer_->setSingleShot(true);
    reevaluateTimer_->setInterval(120);
    connect(reevaluateTimer_, &QTimer::timeout, this, [this] { runJob(JobKind::Current); });
    connect(undoStack_, &QUndoStack::cleanChanged, this, [this] {
        if (isModified() != lastModified_) {
            lastModified_ = isModified();
            Q_EMIT modifiedChanged(lastModified_);
        }
    });
    presets_ = listPresets(userPresetDir());
}

Document::~Document()
{
    cancelJobs();
    pool_.waitForDone();
    trainingPool_.waitForDone();
}

const std::vector<Site> &Document::sites() const { return model_ ? model_->sites() : noSites(); }

int Document::siteByName(const QString &name) const
{
    const std::string n = name.toStdString();
    const auto &s = sites();
    for (std::size_t i = 0; i < s.size(); ++i)
        if (s[i].name == n)
            return int(i);
    return -1;
}

bool Document::siteExecuted(int site) const
{
    return site >= 0 && std::size_t(site) < executed_.size() && executed_[std::size_t(site)];
}

QString Document::modelName() const
{
    if (!model_)
        return {};
    const auto &m = model_->metadata();
    return m.present && !m.name.empty() ? QString::fromStdString(m.name) : QFileInfo(project_.modelPath).fileName();
}

QStringList Document::classNames() const
{
    QStringList out;
    if (dataset_)
        for (const auto &c : dataset_->classNames())
            out << QString::fromStdString(c);
    return out;
}

void Document::openProject(const Project &project, const QString &path)
{
    // Load everything into locals first: a failure leaves the document as it was.
    std::shared_ptr<Model> model = Model::load(project.modelPath.toStdString());
    std::shared_ptr<Dataset> dataset = sparsity::openDataset(project.datasetPath.toStdString(), project.split);
    // As the command line: the model's metadata, else what the dataset implies.
    const Preprocessing pre =
        project.hasPreprocessing ? project.preprocessing : model->defaultPreprocessing(impliedPreprocessing(*dataset));
    pre.validate();
    const std::vector<std::int64_t> chw{pre.channels, pre.height, pre.width};
    if (model->inputShape() != chw)
        model->setInputShape(chw);
    // A saved fine-tuning: the current state runs a second copy with the tuned weights; the baseline stays the
    // model as loaded.
    std::shared_ptr<Model> tuned;
    if (!project.weightsPath.isEmpty()) {
        tuned = Model::load(project.modelPath.toStdString());
        if (tuned->inputShape() != chw)
            tuned->setInputShape(chw);
        loadWeights(*tuned, project.weightsPath.toStdString());
    }
    auto indices = chooseIndices(*dataset, project.subset);

    cancelJobs();
    pool_.waitForDone();
    project_ = project;
    projectPath_ = path;
    baseModel_ = std::move(model);
    model_ = tuned ? tuned : baseModel_;
    dataset_ = std::move(dataset);
    preprocessing_ = pre;
    indices_ = std::move(indices);
    resetState();
    applyProjectEdits();
    undoStack_->clear();
    structuralChange_ = false;
    Q_EMIT projectPathChanged(projectPath_);
    Q_EMIT modelChanged();
    updateProjection();
    Q_EMIT modifiedChanged(lastModified_ = isModified());
    startBaselineCapture();
}

void Document::openModel(const QString &path)
{
    std::shared_ptr<Model> model = Model::load(path.toStdString());
    if (dataset_) {
        const std::vector<std::int64_t> chw{preprocessing_.channels, preprocessing_.height, preprocessing_.width};
        if (model->inputShape() != chw)
            model->setInputShape(chw);
    }
    cancelJobs();
    pool_.waitForDone();
    // Edits are keyed by site name: a re-export of the same network keeps its thresholds, scope and bands.
    const Project edits = projectToSave();
    model_ = std::move(model);
    baseModel_ = model_;
    project_.modelPath = QFileInfo(path).absoluteFilePath();
    project_.weightsPath.clear(); // tuned weights belong to the previous model
    project_.thresholds = edits.thresholds;
    project_.scope = edits.scope;
    project_.bands = edits.bands;
    if (!project_.hasPreprocessing)
        preprocessing_ = model_->defaultPreprocessing(dataset_ ? impliedPreprocessing(*dataset_) : Preprocessing{});
    resetState();
    applyProjectEdits();
    undoStack_->clear();
    setStructuralChange();
    Q_EMIT modelChanged();
    updateProjection();
    startBaselineCapture();
}

void Document::openDataset(const QString &path, Split split, const SubsetSpec &subset, const Preprocessing *preprocessing)
{
    std::shared_ptr<Dataset> dataset = sparsity::openDataset(path.toStdString(), split);
    Preprocessing pre = preprocessing ? *preprocessing
                                      : (model_ ? model_->defaultPreprocessing(impliedPreprocessing(*dataset)) : preprocessing_);
    pre.validate();
    auto indices = chooseIndices(*dataset, subset);
    cancelJobs();
    pool_.waitForDone();
    if (model_) {
        const std::vector<std::int64_t> chw{pre.channels, pre.height, pre.width};
        if (model_->inputShape() != chw)
            model_->setInputShape(chw); // throws with what the model wanted: the document is unchanged
    }
    dataset_ = std::move(dataset);
    preprocessing_ = pre;
    indices_ = std::move(indices);
    project_.datasetPath = QFileInfo(path).absoluteFilePath();
    project_.split = split;
    project_.subset = subset;
    project_.hasPreprocessing = preprocessing != nullptr;
    project_.preprocessing = pre;
    project_.heatmapImages.clear(); // indices into the previous dataset
    chooseKept();
    baseline_.reset();
    current_.reset();
    setStructuralChange();
    Q_EMIT modelChanged();
    updateProjection();
    startBaselineCapture();
}

void Document::clear()
{
    cancelJobs();
    pool_.waitForDone();
    project_ = Project();
    projectPath_.clear();
    model_.reset();
    baseModel_.reset();
    dataset_.reset();
    indices_.clear();
    resetState();
    undoStack_->clear();
    structuralChange_ = false;
    Q_EMIT projectPathChanged(projectPath_);
    Q_EMIT modelChanged();
    updateProjection();
    Q_EMIT modifiedChanged(lastModified_ = isModified());
}

void Document::resetState()
{
    const std::size_t n = sites().size();
    initialThresholds_ = model_ ? model_->thresholds() : std::vector<float>();
    thresholds_ = initialThresholds_;
    bands_.assign(n, 0.0);
    channelThresholds_.assign(n, {});
    scope_.assign(n, false);
    executed_.assign(n, false);
    for (std::size_t i = 0; i < n; ++i)
        executed_[i] = model_->siteExecuted(int(i)); // from the shape-inference pass; no job is running
    baseline_.reset();
    current_.reset();
    chooseKept();
    selectedSite_ = -1;
    const QString wanted = project_.processorPreset;
    presetIndex_ = presets_.empty() ? -1 : 0;
    for (std::size_t i = 0; i < presets_.size(); ++i) {
        const QFileInfo info(presets_[i].path);
        if (presets_[i].valid && (info.completeBaseName() == wanted || info.absoluteFilePath() == wanted)) {
            presetIndex_ = int(i);
            break;
        }
    }
}

void Document::chooseKept()
{
    kept_.clear();
    if (!project_.heatmapImages.empty()) {
        // In subset order, which is the order the capture meets (and keeps) them.
        for (std::size_t i : indices_)
            if (kept_.size() < kMaxKeptImages &&
                std::find(project_.heatmapImages.begin(), project_.heatmapImages.end(), i) != project_.heatmapImages.end())
                kept_.push_back(i);
    }
    if (kept_.empty())
        kept_.assign(indices_.begin(), indices_.begin() + std::ptrdiff_t(std::min(kMaxKeptImages, indices_.size())));
}

std::vector<std::size_t> Document::setKeptIndices(const std::vector<std::size_t> &datasetIndices)
{
    const auto previous = kept_;
    const auto previousChoice = project_.heatmapImages;
    project_.heatmapImages = datasetIndices;
    chooseKept();
    // Stored as used: a choice that fell entirely outside the subset means "the first ones".
    project_.heatmapImages = datasetIndices.empty() ? std::vector<std::size_t>() : kept_;
    if (kept_ == previous && project_.heatmapImages == previousChoice)
        return kept_;
    setStructuralChange();
    Q_EMIT keptIndicesChanged();
    if (kept_ != previous)
        startBaselineCapture(); // the current capture follows it (finishJob)
    return kept_;
}

void Document::applyProjectEdits()
{
    for (auto it = project_.thresholds.cbegin(); it != project_.thresholds.cend(); ++it) {
        const int s = siteByName(it.key());
        if (s >= 0 && sites()[std::size_t(s)].sparsifiable)
            thresholds_[std::size_t(s)] = float(it.value());
    }
    for (auto it = project_.channelThresholds.cbegin(); it != project_.channelThresholds.cend(); ++it)
        if (const int s = siteByName(it.key()); s >= 0)
            channelThresholds_[std::size_t(s)].assign(it.value().begin(), it.value().end());
    for (const QString &name : project_.scope)
        if (const int s = siteByName(name); s >= 0)
            scope_[std::size_t(s)] = true;
    for (auto it = project_.bands.cbegin(); it != project_.bands.cend(); ++it)
        if (const int s = siteByName(it.key()); s >= 0)
            bands_[std::size_t(s)] = it.value();
}

Project Document::projectToSave() const
{
    Project p = project_;
    if (!isTuned())
        p.weightsPath.clear(); // undone, or never tuned: the model file's own weights
    p.hasPreprocessing = bool(dataset_) || project_.hasPreprocessing;
    p.preprocessing = preprocessing_;
    p.thresholds.clear();
    p.channelThresholds.clear();
    p.scope.clear();
    p.bands.clear();
    const auto &s = sites();
    for (std::size_t i = 0; i < s.size(); ++i) {
        const QString name = QString::fromStdString(s[i].name);
        if (thresholds_[i] != initialThresholds_[i])
            p.thresholds.insert(name, double(thresholds_[i]));
        if (scope_[i])
            p.scope << name;
        if (bands_[i] != 0.0)
            p.bands.insert(name, bands_[i]);
        if (!channelThresholds_[i].empty())
            p.channelThresholds.insert(name, QVector<double>(channelThresholds_[i].begin(), channelThresholds_[i].end()));
    }
    if (presetIndex_ >= 0) {
        const PresetEntry &e = presets_[std::size_t(presetIndex_)];
        p.processorPreset = e.builtIn ? QFileInfo(e.path).completeBaseName() : e.path;
    }
    return p;
}

QString Document::weightsPathFor(const QString &projectPath)
{
    // A new name on every save: the project file is replaced only after its weights are complete, and until then
    // the previous project keeps pointing at the previous, untouched weights file.
    const QFileInfo info(projectPath);
    const QString base = info.absolutePath() + QLatin1Char('/') + projectStem(info) + QStringLiteral(".weights-") +
                         QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmsszzz"));
    QString name = base + QStringLiteral(".pt");
    for (int n = 2; QFileInfo::exists(name); ++n)
        name = base + QStringLiteral("-%1.pt").arg(n);
    return name;
}

void Document::saveProjectTo(const QString &path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    Project p = projectToSave();
    p.weightsPath.clear();
    const QString previousWeights = projectPath_ == absolute ? project_.weightsPath : QString();
    if (isTuned()) {
        // Weights first: a project never points at weights that were not written.
        p.weightsPath = weightsPathFor(absolute);
        if (p.weightsPath == QFileInfo(project_.modelPath).absoluteFilePath())
            throw Error(p.weightsPath.toStdString() + ": refusing to overwrite the input model; save the project "
                                                      "under another name");
        saveWeights(*model_, p.weightsPath.toStdString());
    }
    saveProject(p, absolute);
    // The saved project no longer refers to the weights it had: remove that file when it is one of ours.
    const QFileInfo previous(previousWeights);
    if (!previousWeights.isEmpty() && previous.absoluteFilePath() != p.weightsPath &&
        previous.absolutePath() == QFileInfo(absolute).absolutePath() &&
        previous.fileName().startsWith(projectStem(QFileInfo(absolute)) + QStringLiteral(".weights")))
        QFile::remove(previousWeights);
    project_.weightsPath = p.weightsPath;
    markSaved(absolute);
}

void Document::markSaved(const QString &path)
{
    project_ = projectToSave();
    projectPath_ = path;
    structuralChange_ = false;
    undoStack_->setClean();
    Q_EMIT projectPathChanged(path);
    Q_EMIT modifiedChanged(lastModified_ = isModified());
}

bool Document::isModified() const { return structuralChange_ || !undoStack_->isClean(); }

void Document::setStructuralChange()
{
    structuralChange_ = true;
    if (!lastModified_)
        Q_EMIT modifiedChanged(lastModified_ = true);
}

double Document::siteValue(SiteField field, int site) const
{
    const auto i = std::size_t(site);
    switch (field) {
    case SiteField::Threshold: return double(thresholds_[i]);
    case SiteField::Scope: return scope_[i] ? 1.0 : 0.0;
    case SiteField::Band: return bands_[i];
    }
    return 0.0;
}

void Document::setSiteValue(SiteField field, int site, double value)
{
    if (site < 0 || site >= siteCount())
        return;
    const auto i = std::size_t(site);
    switch (field) {
    case SiteField::Threshold:
        thresholds_[i] = clampedThreshold(sites()[i], float(value));
        Q_EMIT siteValueChanged(field, site);
        Q_EMIT thresholdsChanged({site});
        updateProjection();
        requestReevaluation();
        return;
    case SiteField::Scope: scope_[i] = value != 0.0; break;
    case SiteField::Band: bands_[i] = std::max(0.0, value); break;
    }
    Q_EMIT siteValueChanged(field, site);
}

void Document::setThresholds(const std::vector<float> &thresholds)
{
    if (thresholds.size() != thresholds_.size())
        return;
    QVector<int> changed;
    for (std::size_t i = 0; i < thresholds.size(); ++i) {
        const float t = clampedThreshold(sites()[i], thresholds[i]);
        if (t != thresholds_[i]) {
            thresholds_[i] = t;
            changed << int(i);
        }
    }
    if (changed.isEmpty())
        return;
    Q_EMIT thresholdsChanged(changed);
    updateProjection();
    requestReevaluation();
}

void Document::setSiteChannelThresholds(int site, const std::vector<float> &channels)
{
    if (site < 0 || site >= siteCount() || channelThresholds_[std::size_t(site)] == channels)
        return;
    channelThresholds_[std::size_t(site)] = channels;
    Q_EMIT thresholdsChanged({site});
    updateProjection();
    requestReevaluation();
}

void Document::pushSiteValue(SiteField field, int site, double value, int mergeSession)
{
    if (site < 0 || site >= siteCount())
        return;
    const bool replacesChannels = field == SiteField::Threshold && !channelThresholds_[std::size_t(site)].empty();
    if (siteValue(field, site) == value && !replacesChannels)
        return;
    undoStack_->push(new ChangeSiteValue(this, field, site, value, mergeSession));
}

void Document::pushThresholds(const std::vector<float> &thresholds, const QString &text,
                              const std::vector<std::vector<float>> &channels)
{
    std::vector<std::vector<float>> newChannels = channels;
    newChannels.resize(channelThresholds_.size());
    if (thresholds.size() != thresholds_.size() || (thresholds == thresholds_ && newChannels == channelThresholds_))
        return;
    undoStack_->push(new ChangeThresholds(this, thresholds, newChannels, text));
}

bool Document::currentIsExact() const
{
    return current_ && current_->thresholds == thresholds_ && current_->channelThresholds == channelThresholds_;
}

double Document::baselineSparsity(int site) const
{
    if (!baseline_ || site < 0 || std::size_t(site) >= baseline_->result.sites.size())
        return -1.0;
    const auto &s = baseline_->result.sites[std::size_t(site)];
    return s.elements ? s.sparsity() : -1.0;
}

const SiteStats *Document::statsFor(int site, double threshold) const
{
    const Snapshot *best = nullptr;
    for (const Snapshot *snap : {baseline_.get(), current_.get()}) {
        if (!snap || std::size_t(site) >= snap->result.sites.size() || !snap->result.sites[std::size_t(site)].elements)
            continue;
        const double own = snap->thresholds[std::size_t(site)];
        if (own <= threshold && (!best || own >= best->thresholds[std::size_t(site)]))
            best = snap;
    }
    if (!best)
        best = baseline_ ? baseline_.get() : current_.get();
    if (!best || std::size_t(site) >= best->result.sites.size())
        return nullptr;
    return &best->result.sites[std::size_t(site)];
}

double Document::estimatedSparsity(int site, double threshold) const
{
    const SiteStats *s = statsFor(site, threshold);
    if (!s || !s->elements)
        return -1.0;
    if (!sites()[std::size_t(site)].sparsifiable)
        return s->sparsity();
    return s->estimatedSparsityAt(threshold);
}

double Document::currentSparsity(int site, bool *estimate) const
{
    if (estimate)
        *estimate = false;
    if (site < 0 || site >= siteCount())
        return -1.0;
    if (currentIsExact()) {
        const auto &s = current_->result.sites[std::size_t(site)];
        return s.elements ? s.sparsity() : -1.0;
    }
    if (estimate)
        *estimate = true;
    return estimatedSparsity(site, double(thresholds_[std::size_t(site)]));
}

void Document::setPresetIndex(int index)
{
    if (index == presetIndex_ || index < 0 || std::size_t(index) >= presets_.size())
        return;
    presetIndex_ = index;
    setStructuralChange();
    updateProjection();
}

QString Document::userPresetDir()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/presets");
}

void Document::reloadPresets(const QString &selectPath)
{
    const QString previous = presetIndex_ >= 0 ? presets_[std::size_t(presetIndex_)].path : QString();
    presets_ = listPresets(userPresetDir());
    presetIndex_ = presets_.empty() ? -1 : 0;
    for (std::size_t i = 0; i < presets_.size(); ++i) {
        const QString path = QFileInfo(presets_[i].path).absoluteFilePath();
        if (presets_[i].valid && (path == QFileInfo(selectPath).absoluteFilePath() ||
                                  (selectPath.isEmpty() && path == QFileInfo(previous).absoluteFilePath())))
            presetIndex_ = int(i);
    }
    if (!selectPath.isEmpty())
        setStructuralChange();
    Q_EMIT presetsChanged();
    updateProjection();
}

void Document::updateProjection()
{
    hasProjection_ = false;
    if (model_ && baseline_ && presetIndex_ >= 0 && presets_[std::size_t(presetIndex_)].valid) {
        const ProcessorParams &params = presets_[std::size_t(presetIndex_)].params;
        const auto &layers = model_->layers();
        dense_ = evaluate(params, denseWorkload(layers));
        baselineEval_ = evaluate(params, baseline_->workload);
        if (currentIsExact()) {
            currentWorkload_ = current_->workload;
        } else {
            // Each layer scales the measured work of the capture its estimate comes from by the estimated change
            // of its input density: exact at the captured threshold, and consistent with the measured baseline.
            currentWorkload_ = baseline_->workload;
            for (std::size_t l = 0; l < layers.size() && l < currentWorkload_.layers.size(); ++l) {
                const int s = layers[l].inputSite;
                if (s < 0 || !sites()[std::size_t(s)].sparsifiable)
                    continue;
                const double t = thresholds_[std::size_t(s)];
                const SiteStats *stats = statsFor(s, t);
                const Snapshot *source = (current_ && stats == &current_->result.sites[std::size_t(s)]) ? current_.get()
                                                                                                        : baseline_.get();
                if (!stats || !stats->elements)
                    continue;
                LayerWorkload lw = source->workload.layers[l];
                const double measured = 1.0 - stats->sparsity();
                const double estimated = 1.0 - stats->estimatedSparsityAt(t);
                const double factor = measured > 0.0 ? estimated / measured : 0.0;
                lw.events *= factor;
                lw.synops *= factor;
                lw.density = estimated;
                if (factor != 1.0)
                    lw.source = OpsSource::Estimate;
                currentWorkload_.layers[l] = lw;
            }
        }
        currentEval_ = evaluate(params, currentWorkload_);
        hasProjection_ = true;
    }
    Q_EMIT projectionChanged();
}

double Document::latencyShare(int site) const
{
    if (!hasProjection_ || !model_)
        return -1.0;
    const auto &layers = model_->layers();
    double total = 0.0, mine = 0.0;
    for (std::size_t l = 0; l < currentEval_.layers.size() && l < layers.size(); ++l) {
        total += currentEval_.layers[l].cycles;
        if (layers[l].inputSite == site)
            mine += currentEval_.layers[l].cycles;
    }
    return total > 0.0 ? mine / total : -1.0;
}

void Document::setSelectedSite(int site)
{
    if (site == selectedSite_)
        return;
    selectedSite_ = site;
    Q_EMIT selectedSiteChanged(site);
}

void Document::startBaselineCapture() { runJob(JobKind::Baseline); }

void Document::requestReevaluation()
{
    if (model_ && dataset_)
        reevaluateTimer_->start();
}

void Document::cancelJobs()
{
    reevaluateTimer_->stop();
    for (auto &job : latest_) {
        if (job)
            job->cancel = true;
        job.reset(); // whatever it delivers now is stale
    }
}

void Document::waitForIdle()
{
    while (pending_ > 0 || reevaluateTimer_->isActive())
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 50);
}

std::shared_ptr<Document::Job> Document::newJob(JobKind kind)
{
    auto job = std::make_shared<Job>();
    job->id = ++nextJobId_;
    job->kind = kind;
    job->thresholds = kind == JobKind::Baseline ? initialThresholds_ : thresholds_;
    auto &slot = latest_[int(kind)];
    if (slot)
        slot->cancel = true; // latest wins: the superseded job stops at its next batch
    slot = job;
    if (kind == JobKind::Baseline && latest_[int(JobKind::Current)]) {
        latest_[int(JobKind::Current)]->cancel = true; // restarted after the new baseline
        latest_[int(JobKind::Current)].reset();
    }
    ++pending_;
    return job;
}

void Document::runJob(JobKind kind)
{
    if (!model_ || !dataset_ || indices_.empty())
        return;
    auto job = newJob(kind);
    Q_EMIT jobStarted(kind == JobKind::Baseline ? tr("Baseline capture") : tr("Re-evaluating thresholds"));

    CaptureOptions options;
    options.keepFeatureMaps = kept_;
    // Per-channel thresholds come from the project (the CLI writes them); the baseline runs without them.
    auto channels = kind == JobKind::Baseline ? std::vector<std::vector<float>>(channelThresholds_.size())
                                              : channelThresholds_;
    options.thresholds = Thresholds{job->thresholds, channels};
    // The baseline always runs the model as loaded, also after a training run replaced the current one.
    pool_.start([this, job, model = kind == JobKind::Baseline ? baseModel_ : model_, dataset = dataset_,
                 pre = preprocessing_, indices = indices_, options, channels] {
        if (!job->cancel) {
            try {
                auto snap = std::make_shared<Snapshot>();
                snap->result = capture(*model, *dataset, pre, indices, options, &job->cancel,
                                       [this, job](const CaptureProgress &p) {
                                           QMetaObject::invokeMethod(
                                               this,
                                               [this, job, p] {
                                                   if (latest_[int(job->kind)] != job || !p.imagesDone)
                                                       return;
                                                   const double eta = p.secondsElapsed / double(p.imagesDone) *
                                                                      double(p.imagesTotal - p.imagesDone);
                                                   Q_EMIT jobProgress(qint64(p.imagesDone), qint64(p.imagesTotal), eta);
                                               },
                                               Qt::QueuedConnection);
                                       });
                snap->thresholds = job->thresholds;
                snap->channelThresholds = channels;
                for (std::size_t i = 0; i < model->sites().size(); ++i)
                    snap->executed.push_back(model->siteExecuted(int(i)));
                if (!snap->result.cancelled)
                    snap->workload = workloadFromStats(model->layers(), model->sites(), snap->result.sites);
                job->snapshot = std::move(snap);
            } catch (const std::exception &e) {
                job->error = QString::fromStdString(e.what());
            }
        }
        QMetaObject::invokeMethod(this, [this, job] { finishJob(job); }, Qt::QueuedConnection);
    });
}

void Document::finishJob(const std::shared_ptr<Job> &job)
{
    --pending_;
    auto &slot = latest_[int(job->kind)];
    if (job->kind == JobKind::Training) {
        const bool stale = slot != job;
        if (!stale)
            slot.reset();
        if (stale) {
            if (job->comparison)
                Q_EMIT comparisonFinished(false, tr("Comparison stopped."));
            else
                Q_EMIT trainingFinished(false, tr("Training stopped; Resume continues from the last checkpoint."));
            Q_EMIT jobFinished(true);
            return;
        }
        return job->comparison ? finishComparison(job) : finishTraining(job);
    }
    if (slot != job) { // superseded or cancelled: its result is stale
        if (pending_ == 0)
            Q_EMIT jobFinished(true);
        return;
    }
    slot.reset();
    if (job->kind == JobKind::Search)
        return finishSearch(job);
    if (!job->error.isEmpty()) {
        Q_EMIT jobFailed(job->error);
        Q_EMIT jobFinished(false);
        return;
    }
    if (!job->snapshot || job->snapshot->result.cancelled) {
        Q_EMIT jobFinished(true);
        return;
    }
    executed_ = job->snapshot->executed;
    if (job->kind == JobKind::Baseline) {
        baseline_ = job->snapshot;
        // The baseline doubles as the current capture only when the current state runs the same model.
        if (!isTuned() && job->snapshot->thresholds == thresholds_ && job->snapshot->channelThresholds == channelThresholds_)
            current_ = job->snapshot;
        else
            current_.reset();
        Q_EMIT baselineChanged();
        if (!current_)
            runJob(JobKind::Current);
    } else {
        current_ = job->snapshot;
    }
    updateProjection();
    Q_EMIT currentChanged();
    Q_EMIT jobFinished(false);
}

// ---- Threshold search -------------------------------------------------------------------------------------

void Document::startThresholdSearch(const SearchOptions &options, std::size_t calibrationImages)
{
    if (!model_ || !dataset_ || indices_.empty())
        return;
    auto job = newJob(JobKind::Search);
    Q_EMIT jobStarted(tr("Threshold search (budget %1 pp)").arg(options.budgetPp));
    std::vector<std::size_t> calibration(indices_.begin(),
                                         indices_.begin() + std::ptrdiff_t(std::min(calibrationImages, indices_.size())));
    pool_.start([this, job, options, calibration, model = model_, dataset = dataset_, pre = preprocessing_,
                 channels = channelThresholds_] {
        if (!job->cancel) {
            try {
                const auto batches = loadBatches(*dataset, pre, calibration, 64);
                model->setThresholds(job->thresholds, channels);
                const auto started = std::chrono::steady_clock::now();
                job->search = std::make_shared<SearchResult>(searchThresholds(
                    *model, batches, options, &job->cancel, [this, job, started](const SearchProgress &p) {
                        const double elapsed =
                            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                        QMetaObject::invokeMethod(
                            this,
                            [this, job, p, elapsed] {
                                if (latest_[int(JobKind::Search)] != job || p.evaluation <= 0)
                                    return;
                                const int planned = std::max(p.evaluationsPlanned, p.evaluation);
                                Q_EMIT jobProgress(p.evaluation, planned,
                                                   elapsed / p.evaluation * double(planned - p.evaluation));
                            },
                            Qt::QueuedConnection);
                    }));
            } catch (const std::exception &e) {
                job->error = QString::fromStdString(e.what());
            }
        }
        QMetaObject::invokeMethod(this, [this, job] { finishJob(job); }, Qt::QueuedConnection);
    });
}

void Document::finishSearch(const std::shared_ptr<Job> &job)
{
    if (!job->error.isEmpty()) {
        Q_EMIT jobFailed(job->error);
        Q_EMIT jobFinished(false);
        return;
    }
    if (!job->search || job->search->cancelled) {
        Q_EMIT jobFinished(true);
        return;
    }
    const SearchResult &r = *job->search;
    // Edits made while the search ran are replaced by its result; undo brings them back.
    pushThresholds(r.thresholds, tr("Threshold search"), r.channelThresholds);
    Q_EMIT jobFinished(false);
    Q_EMIT thresholdSearchFinished(
        tr("Threshold search: sparsity %1 % → %2 %, calibration top-1 %3 % → %4 % (%5 evaluations, %6 s)")
            .arg(100.0 * r.startSparsity, 0, 'f', 1)
            .arg(100.0 * r.finalSparsity, 0, 'f', 1)
            .arg(r.startTop1, 0, 'f', 2)
            .arg(r.finalTop1, 0, 'f', 2)
            .arg(r.evaluations)
            .arg(r.seconds, 0, 'f', 1));
}

// ---- Training ----------------------------------------------------------------------------------------------

Recipe Document::recipe() const
{
    if (project_.recipe.isEmpty())
        return Recipe::forMethod(Recipe::Method::Star);
    try {
        return Recipe::fromJson(QJsonDocument(project_.recipe).toJson(QJsonDocument::Compact).toStdString(), "project recipe");
    } catch (const std::exception &) {
        return Recipe::forMethod(Recipe::Method::Star); // the project loader accepted it as opaque JSON
    }
}

void Document::setRecipe(const Recipe &recipe)
{
    const QJsonObject json = QJsonDocument::fromJson(QByteArray::fromStdString(recipe.toJson())).object();
    if (json == project_.recipe)
        return;
    project_.recipe = json;
    setStructuralChange();
}

QString Document::defaultCheckpointDir()
{
    if (!projectPath_.isEmpty()) {
        const QFileInfo info(projectPath_);
        return info.absolutePath() + QLatin1Char('/') + projectStem(info) + QStringLiteral("-checkpoints");
    }
    if (!tempCheckpoints_)
        tempCheckpoints_ = std::make_unique<QTemporaryDir>(QDir::tempPath() + QStringLiteral("/sparsity-explorer-XXXXXX"));
    return tempCheckpoints_->path() + QStringLiteral("/checkpoints");
}

void Document::startTraining(const Recipe &recipe, const QString &checkpointDir, bool resume)
{
    if (!model_ || !dataset_ || isTraining())
        return;
    setRecipe(recipe);
    auto job = newJob(JobKind::Training);
    job->training = std::make_shared<TrainingOutcome>();
    job->training->recipe = recipe;
    job->training->checkpointDir = checkpointDir;
    Q_EMIT jobStarted(resume ? tr("Resuming fine-tuning") : tr("Fine-tuning (%1)").arg(QString::fromUtf8(methodName(recipe.method))));
    Q_EMIT trainingStarted(resume);
    const int epochsTotal = recipe.regularizeEpochs + recipe.finetuneEpochs * std::max(1, recipe.rounds);
    trainingPool_.start([this, job, resume, epochsTotal, modelPath = project_.modelPath, datasetPath = project_.datasetPath,
                         pre = preprocessing_, channels = channelThresholds_] {
        TrainingOutcome &out = *job->training;
        try {
            // A copy of its own: captures keep running on the project's model meanwhile, and undo can go back to it.
            auto model = Model::load(modelPath.toStdString());
            const std::vector<std::int64_t> chw{pre.channels, pre.height, pre.width};
            if (model->inputShape() != chw)
                model->setInputShape(chw);
            model->setThresholds(job->thresholds, channels);
            const auto train = sparsity::openDataset(datasetPath.toStdString(), Split::Train);
            const auto validation = sparsity::openDataset(datasetPath.toStdString(), Split::Test);
            const TrainingData data{train.get(), validation.get(), pre};
            const auto started = std::chrono::steady_clock::now();
            auto post = [this, job](auto f) {
                QMetaObject::invokeMethod(
                    this,
                    [this, job, f] {
                        if (latest_[int(JobKind::Training)] == job)
                            f();
                    },
                    Qt::QueuedConnection);
            };
            TrainingCallbacks callbacks;
            callbacks.pause = &job->pause;
            callbacks.step = [this, post, started, epochsTotal](const TrainingStep &st) {
                const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                post([this, st, elapsed, epochsTotal] {
                    Q_EMIT trainingStep(st);
                    const qint64 total = qint64(std::max(1, epochsTotal)) * std::max(1, st.stepsPerEpoch);
                    const qint64 done = std::min(total, qint64(st.epoch) * st.stepsPerEpoch + st.step + 1);
                    Q_EMIT jobProgress(done, total, elapsed / double(std::max<qint64>(1, done)) * double(total - done));
                });
            };
            callbacks.epoch = [this, post, &out](const EpochReport &e) {
                out.epochs.push_back(e); // read by the GUI thread only after the job finished
                post([this, e] { Q_EMIT trainingEpoch(e); });
            };
            callbacks.message = [this, post](const std::string &m) {
                post([this, m = QString::fromStdString(m)] { Q_EMIT trainingMessage(m); });
            };
            out.result = sparsity::train(*model, out.recipe, data, out.checkpointDir.toStdString(), resume, &job->cancel,
                                         callbacks);
            out.model = std::move(model);
        } catch (const std::exception &e) {
            job->error = QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(this, [this, job] { finishJob(job); }, Qt::QueuedConnection);
    });
}

void Document::cancelTraining()
{
    if (auto &job = latest_[int(JobKind::Training)])
        job->cancel = true; // stops within one step; the result still arrives (cancelled)
}

void Document::setTrainingPaused(bool paused)
{
    const auto &job = latest_[int(JobKind::Training)];
    if (!job || job->pause == paused)
        return;
    job->pause = paused;
    Q_EMIT trainingPausedChanged(paused);
}

bool Document::isTrainingPaused() const
{
    const auto &job = latest_[int(JobKind::Training)];
    return job && job->pause;
}

void Document::finishTraining(const std::shared_ptr<Job> &job)
{
    const TrainingOutcome &out = *job->training;
    if (!job->error.isEmpty()) {
        Q_EMIT trainingFailed(job->error);
        Q_EMIT trainingFinished(false, tr("Training failed: %1").arg(job->error));
        Q_EMIT jobFinished(false);
        return;
    }
    if (out.result.cancelled || !out.model) {
        Q_EMIT trainingFinished(false, tr("Cancelled after %n finished epoch(s); Resume continues from %1.", nullptr,
                                          out.result.epochsDone)
                                           .arg(QDir::toNativeSeparators(out.checkpointDir)));
        Q_EMIT jobFinished(true);
        return;
    }
    lastTraining_ = job->training;
    undoStack_->push(new ApplyTraining(this, out.model, out.result.thresholds, out.result.channelThresholds,
                                       tr("Fine-tuning (%1)").arg(QString::fromUtf8(methodName(out.recipe.method)))));
    Q_EMIT trainingFinished(true, tr("Fine-tuned in %1 s: validation top-1 %2 %, sparsity %3 %. Checkpoints in %4.")
                                      .arg(out.result.seconds, 0, 'f', 1)
                                      .arg(out.result.validationTop1, 0, 'f', 2)
                                      .arg(100.0 * out.result.validationSparsity, 0, 'f', 1)
                                      .arg(QDir::toNativeSeparators(out.checkpointDir)));
    Q_EMIT jobFinished(false);
}

void Document::startComparison(const Recipe &star, const std::vector<Recipe::Method> &methods)
{
    if (!model_ || !dataset_ || isTraining() || methods.empty())
        return;
    auto job = newJob(JobKind::Training);
    job->comparison = std::make_shared<ComparisonOutcome>();
    Q_EMIT jobStarted(tr("Comparing %n method(s)", nullptr, int(methods.size())));
    trainingPool_.start([this, job, star, methods, root = QString(defaultCheckpointDir() + QStringLiteral("/compare")),
                         modelPath = project_.modelPath, datasetPath = project_.datasetPath, pre = preprocessing_,
                         dataset = dataset_, indices = indices_] {
        ComparisonOutcome &out = *job->comparison;
        try {
            const auto train = sparsity::openDataset(datasetPath.toStdString(), Split::Train);
            const auto validation = sparsity::openDataset(datasetPath.toStdString(), Split::Test);
            const TrainingData data{train.get(), validation.get(), pre};
            std::vector<std::shared_ptr<Model>> created; // the original first, then one per method in order
            auto fresh = [&created, &modelPath, &pre] {
                auto model = Model::load(modelPath.toStdString());
                const std::vector<std::int64_t> chw{pre.channels, pre.height, pre.width};
                if (model->inputShape() != chw)
                    model->setInputShape(chw);
                created.push_back(model);
                return model;
            };
            auto onMethod = [this, job](const ComparisonProgress &p) {
                QMetaObject::invokeMethod(
                    this,
                    [this, job, p] {
                        if (latest_[int(JobKind::Training)] != job)
                            return;
                        Q_EMIT comparisonProgress(p.methodIndex, p.methodCount, QString::fromUtf8(methodName(p.method)));
                        Q_EMIT jobProgress(p.methodIndex, p.methodCount, 0.0);
                    },
                    Qt::QueuedConnection);
            };
            TrainingCallbacks callbacks;
            callbacks.pause = &job->pause;
            out.comparison = compareMethods(fresh, star, methods, data, *dataset, indices, root.toStdString(), &job->cancel,
                                            onMethod, callbacks);
            for (std::size_t i = 0; i < out.comparison.methods.size() && i + 1 < created.size(); ++i)
                out.models.push_back(created[i + 1]);
        } catch (const std::exception &e) {
            job->error = QString::fromStdString(e.what());
        }
        QMetaObject::invokeMethod(this, [this, job] { finishJob(job); }, Qt::QueuedConnection);
    });
}

void Document::finishComparison(const std::shared_ptr<Job> &job)
{
    if (!job->error.isEmpty()) {
        Q_EMIT trainingFailed(job->error);
        Q_EMIT comparisonFinished(false, tr("Comparison failed: %1").arg(job->error));
        Q_EMIT jobFinished(false);
        return;
    }
    lastComparison_ = job->comparison;
    const auto &c = job->comparison->comparison;
    const bool completed = !c.cancelled && job->comparison->models.size() == c.methods.size();
    Q_EMIT comparisonFinished(completed, completed ? tr("Compared %n method(s) on %1 images, %2 epochs each.", nullptr,
                                                        int(c.methods.size()))
                                                         .arg(c.evaluationImages)
                                                         .arg(c.epochs)
                                                   : tr("Cancelled after %n method(s).", nullptr, int(c.methods.size())));
    Q_EMIT jobFinished(!completed);
}

void Document::applyComparisonRow(int row)
{
    if (!lastComparison_ || row < 0 || std::size_t(row) >= lastComparison_->models.size())
        return;
    const MethodOutcome &o = lastComparison_->comparison.methods[std::size_t(row)];
    undoStack_->push(new ApplyTraining(this, lastComparison_->models[std::size_t(row)], o.thresholds, o.channelThresholds,
                                       tr("Make %1 the current state").arg(QString::fromUtf8(methodName(o.method)))));
}

void Document::setCurrentModel(const std::shared_ptr<Model> &model, const std::vector<float> &thresholds,
                               const std::vector<std::vector<float>> &channels)
{
    if (!model || thresholds.size() != thresholds_.size() || model->sites().size() != sites().size())
        return;
    model_ = model;
    channelThresholds_ = channels.size() == thresholds.size() ? channels : std::vector<std::vector<float>>(thresholds.size());
    QVector<int> all;
    for (std::size_t i = 0; i < thresholds.size(); ++i) {
        thresholds_[i] = clampedThreshold(sites()[i], thresholds[i]);
        all << int(i);
    }
    if (auto &slot = latest_[int(JobKind::Current)]) {
        slot->cancel = true;
        slot.reset();
    }
    // The current capture ran another model: drop it until the new one arrives (the baseline stays).
    current_.reset();
    Q_EMIT thresholdsChanged(all);
    Q_EMIT currentChanged();
    updateProjection();
    reevaluateTimer_->stop();
    runJob(JobKind::Current);
}

} // namespace sparsity::ui

namespace sparsity::ui {

QStringList Document::exportTunedModel(const QString &outPath)
{
    if (!model_)
        throw Error("no model to export: open a model first");
    const QFileInfo outInfo(outPath);
    if (outInfo.suffix() != QLatin1String("pt") && outInfo.suffix() != QLatin1String("pth"))
        throw Error(outPath.toStdString() + ": the exported model must end in .pt (OUT.json and OUT.csv go next to it)");
    const QString base = outInfo.absolutePath() + QLatin1Char('/') + outInfo.completeBaseName();
    const QString modelOut = outInfo.absoluteFilePath(), jsonPath = base + QStringLiteral(".json"),
                  csvPath = base + QStringLiteral(".csv");
    const QString input = QFileInfo(project_.modelPath).absoluteFilePath();
    for (const QString &target : {modelOut, jsonPath, csvPath})
        if (QFileInfo(target).absoluteFilePath() == input)
            throw Error(target.toStdString() + ": refusing to overwrite the input model; choose another file name");

    pool_.waitForDone(); // the model's probe state belongs to the capture worker while a capture runs
    Model &model = *model_;
    model.setThresholds(thresholds_, channelThresholds_);
    QJsonObject channels;
    for (std::size_t s = 0; s < channelThresholds_.size(); ++s) {
        if (!channelThresholds_[s].empty()) {
            QJsonArray values;
            for (float v : channelThresholds_[s])
                values.append(double(v));
            channels.insert(QString::fromStdString(sites()[s].name), values);
        }
    }
    // Measured figures only when the current capture ran exactly this model and these thresholds.
    const bool measuredHere = currentIsExact() && !(isTuned() && current_ == baseline_);
    const CaptureResult *measured = measuredHere ? &current_->result : nullptr;
    report::DatasetInfo info;
    if (dataset_) {
        info.path = project_.datasetPath.toStdString();
        info.split = project_.split == Split::Test ? "test" : "train";
        info.format = dataset_->format();
        info.description = dataset_->describe();
        info.size = dataset_->size();
        info.subsetMode = project_.subset.mode == SubsetSpec::Mode::First    ? "first"
                          : project_.subset.mode == SubsetSpec::Mode::Random ? "random"
                                                                             : "stratified";
        info.subsetCount = indices_.size();
        info.seed = project_.subset.seed;
    }
    const QJsonObject measuredOn = measured ? report::datasetJson(info) : QJsonObject();
    const bool trained = isTuned() && lastTraining_ && lastTraining_->model == model_;
    const QJsonObject recipeJson =
        trained ? QJsonDocument::fromJson(QByteArray::fromStdString(lastTraining_->recipe.toJson())).object() : QJsonObject();

    model.exportThresholded(modelOut.toStdString(),
                            report::exportMetadata(model, thresholds_, channels, recipeJson, measured, measuredOn));

    QJsonObject r = report::header(QStringLiteral("export"));
    r.insert(QStringLiteral("model"), report::modelJson(model));
    r.insert(QStringLiteral("dataset"), dataset_ ? QJsonValue(report::datasetJson(info)) : QJsonValue());
    r.insert(QStringLiteral("thresholds"), report::thresholdsJson(model, thresholds_));
    if (measured) {
        r.insert(QStringLiteral("evaluation"), report::evaluationJson(model, *measured));
        r.insert(QStringLiteral("sites"), report::siteStatsJson(model, *measured, false));
    }
    if (trained)
        r.insert(QStringLiteral("training"),
                 report::trainingJson(model, lastTraining_->result, lastTraining_->epochs, recipeJson,
                                      QFileInfo(lastTraining_->checkpointDir).absoluteFilePath()));
    r.insert(QStringLiteral("export"), QJsonObject{{QStringLiteral("model"), modelOut},
                                                   {QStringLiteral("report"), jsonPath},
                                                   {QStringLiteral("csv"), csvPath}});
    report::writeFileAtomically(jsonPath, QJsonDocument(r).toJson(QJsonDocument::Indented));
    report::writeFileAtomically(csvPath, report::perSiteCsv(model, thresholds_, measured).toUtf8());
    return {modelOut, jsonPath, csvPath};
}

} // namespace sparsity::ui
