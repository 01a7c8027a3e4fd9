#include "session.h"

#include "error.h"
#include "graph/model.h"
#include "graph/weights.h"
#include "io/exportbundle.h"
#include "io/report.h"
#include "io/workspace.h"
#include "jobtracker.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTimer>
#include <QUndoStack>

#include <algorithm>

namespace sparsity {

namespace {

const std::vector<Site> &noSites()
{
    static const std::vector<Site> empty;
    return empty;
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

Session::Session(QObject *parent)
    : QObject(parent), undoStack_(new QUndoStack(this)), jobs_(new JobTracker(this)), reevaluateTimer_(new QTimer(this))
{
    pool_.setMaxThreadCount(1);
    trainingPool_.setMaxThreadCount(1);
    // Coalesces the moves of one drag; the job tracker still drops anything superseded.
    reevaluateTimer_->setSingleShot(true);
    reevaluateTimer_->setInterval(120);
    connect(reevaluateTimer_, &QTimer::timeout, this, [this] { runCapture(JobKind::Current); });
    connect(undoStack_, &QUndoStack::cleanChanged, this, [this] {
        if (isModified() != lastModified_)
            setModified(isModified());
    });
    presets_ = listPresets(userPresetDir());
}

Session::~Session()
{
    cancelJobs();
    pool_.waitForDone();
    trainingPool_.waitForDone();
}

void Session::notify(ChangeEvent::Kind kind, QVector<int> sites, SiteField field)
{
    ChangeEvent e;
    e.kind = kind;
    e.sites = std::move(sites);
    e.field = field;
    Q_EMIT changed(e);
}

void Session::setModified(bool modified)
{
    lastModified_ = modified;
    notify(ChangeEvent::Kind::Modified);
}

const std::vector<Site> &Session::sites() const { return model_ ? model_->sites() : noSites(); }

int Session::siteByName(const QString &name) const
{
    const std::string n = name.toStdString();
    const auto &s = sites();
    for (std::size_t i = 0; i < s.size(); ++i)
        if (s[i].name == n)
            return int(i);
    return -1;
}

bool Session::siteExecuted(int site) const
{
    return site >= 0 && std::size_t(site) < executed_.size() && executed_[std::size_t(site)];
}

QString Session::modelName() const
{
    if (!model_)
        return {};
    const auto &m = model_->metadata();
    return m.present && !m.name.empty() ? QString::fromStdString(m.name) : QFileInfo(project_.modelPath).fileName();
}

QStringList Session::classNames() const
{
    QStringList out;
    if (dataset_)
        for (const auto &c : dataset_->classNames())
            out << QString::fromStdString(c);
    return out;
}

void Session::stopCaptures()
{
    cancelJobs();
    pool_.waitForDone();
}

void Session::openProject(const Project &project, const QString &path)
{
    // Opened into a Workspace first: a failure leaves the session as it was.
    WorkspaceOverrides overrides;
    overrides.explorer = true;
    Workspace w = openWorkspace(project, overrides);
    stopCaptures();
    project_ = project;
    projectPath_ = path;
    baseModel_ = std::move(w.model);
    // A saved fine-tuning: the current state runs the copy with the tuned weights; the baseline the model as loaded.
    model_ = w.tuned ? std::move(w.tuned) : baseModel_;
    dataset_ = std::move(w.dataset);
    preprocessing_ = w.preprocessing;
    indices_ = std::move(w.indices);
    startOver();
    startBaselineCapture();
}

void Session::openRecoveredProject(const Project &project, const QString &path)
{
    openProject(project, path);
    setStructuralChange();
}

void Session::openModel(const QString &path)
{
    std::shared_ptr<Model> model = Model::load(path.toStdString());
    if (dataset_)
        fitInputShape(*model, preprocessing_);
    stopCaptures();
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
        preprocessing_ = preprocessingFor(project_, *model_, dataset_.get());
    resetState();
    applyProjectEdits();
    undoStack_->clear();
    setStructuralChange();
    notify(ChangeEvent::Kind::Model);
    updateProjection();
    startBaselineCapture();
}

void Session::openDataset(const QString &path, Split split, const SubsetSpec &subset, const Preprocessing *preprocessing)
{
    std::shared_ptr<Dataset> dataset = sparsity::openDataset(path.toStdString(), split);
    Preprocessing pre = preprocessing ? *preprocessing
                                      : (model_ ? model_->defaultPreprocessing(impliedPreprocessing(*dataset)) : preprocessing_);
    pre.validate();
    auto indices = subsetIndices(*dataset, subset);
    stopCaptures();
    if (model_)
        fitInputShape(*model_, pre); // throws with what the model wanted: the session is unchanged
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
    notify(ChangeEvent::Kind::Model);
    updateProjection();
    startBaselineCapture();
}

void Session::clear()
{
    stopCaptures();
    project_ = Project();
    projectPath_.clear();
    model_.reset();
    baseModel_.reset();
    dataset_.reset();
    indices_.clear();
    startOver();
}

void Session::startOver()
{
    resetState();
    applyProjectEdits();
    undoStack_->clear();
    structuralChange_ = false;
    notify(ChangeEvent::Kind::ProjectPath);
    notify(ChangeEvent::Kind::Model);
    updateProjection();
    setModified(isModified());
}

void Session::resetState()
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
    evaluationCache_.reset(); // its images and cut points belong to the model and subset being left
    lastFullSeconds_ = 0.0;
    lastSweep_.reset();
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

void Session::chooseKept()
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

std::vector<std::size_t> Session::setKeptIndices(const std::vector<std::size_t> &datasetIndices)
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
    notify(ChangeEvent::Kind::KeptImages);
    if (kept_ != previous)
        startBaselineCapture(); // the current capture follows it (finishCapture)
    return kept_;
}

void Session::applyProjectEdits()
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

Project Session::projectToSave() const
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

QString Session::weightsPathFor(const QString &projectPath)
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

void Session::saveProjectTo(const QString &path)
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

void Session::markSaved(const QString &path)
{
    project_ = projectToSave();
    projectPath_ = path;
    structuralChange_ = false;
    undoStack_->setClean();
    notify(ChangeEvent::Kind::ProjectPath);
    setModified(isModified());
}

bool Session::isModified() const { return structuralChange_ || !undoStack_->isClean(); }

void Session::setStructuralChange()
{
    structuralChange_ = true;
    if (!lastModified_)
        setModified(true);
}

Recipe Session::recipe() const
{
    if (project_.recipe.isEmpty())
        return Recipe::forMethod(Recipe::Method::Star);
    try {
        return Recipe::fromJson(QJsonDocument(project_.recipe).toJson(QJsonDocument::Compact).toStdString(), "project recipe");
    } catch (const std::exception &) {
        return Recipe::forMethod(Recipe::Method::Star); // the project loader accepted it as opaque JSON
    }
}

void Session::setRecipe(const Recipe &recipe)
{
    const QJsonObject json = QJsonDocument::fromJson(QByteArray::fromStdString(recipe.toJson())).object();
    if (json == project_.recipe)
        return;
    project_.recipe = json;
    setStructuralChange();
}

QString Session::defaultCheckpointDir()
{
    if (!projectPath_.isEmpty()) {
        const QFileInfo info(projectPath_);
        return info.absolutePath() + QLatin1Char('/') + projectStem(info) + QStringLiteral("-checkpoints");
    }
    if (!tempCheckpoints_)
        tempCheckpoints_ = std::make_unique<QTemporaryDir>(QDir::tempPath() + QStringLiteral("/sparsity-explorer-XXXXXX"));
    return tempCheckpoints_->path() + QStringLiteral("/checkpoints");
}

} // namespace sparsity

namespace sparsity {

QStringList Session::exportTunedModel(const QString &outPath)
{
    if (!model_)
        throw Error("no model to export: open a model first");
    // Every file the session read: none may be an output.
    const std::vector<RolePath> inputs{{project_.modelPath.toStdString(), "model"},
                                       {project_.datasetPath.toStdString(), "dataset"},
                                       {project_.weightsPath.toStdString(), "weights file"},
                                       {projectPath_.toStdString(), "project"}};
    exportPaths(outPath, inputs); // refuses a bad name before waiting for the worker
    pool_.waitForDone(); // the model's probe state belongs to the capture worker while a capture runs
    Model &model = *model_;
    model.setThresholds(thresholds_, channelThresholds_);
    // Measured figures only when the current capture ran exactly this model and these thresholds.
    const bool measuredHere = currentIsExact() && !(isTuned() && current_ == baseline_);
    const report::DatasetInfo info =
        dataset_ ? datasetInfo(*dataset_, project_.split, project_.subset, indices_.size()) : report::DatasetInfo{};
    const bool trained = isTuned() && lastTraining_ && lastTraining_->model == model_;
    ExportContent content;
    content.inputs = inputs;
    content.thresholds = thresholds_;
    content.channelThresholds = report::channelThresholdsJson(model, channelThresholds_);
    content.measured = measuredHere ? &current_->result : nullptr;
    content.measuredOn = content.measured ? report::datasetJson(info) : QJsonObject();
    if (trained)
        content.recipe = QJsonDocument::fromJson(QByteArray::fromStdString(lastTraining_->recipe.toJson())).object();
    QJsonObject &r = content.report;
    r = report::header(QStringLiteral("export"));
    r.insert(QStringLiteral("model"), report::modelJson(model));
    r.insert(QStringLiteral("dataset"), dataset_ ? QJsonValue(report::datasetJson(info)) : QJsonValue());
    r.insert(QStringLiteral("thresholds"), report::thresholdsJson(model, thresholds_));
    if (content.measured) {
        r.insert(QStringLiteral("evaluation"), report::evaluationJson(model, *content.measured));
        r.insert(QStringLiteral("sites"), report::siteStatsJson(model, *content.measured, false));
    }
    if (trained)
        r.insert(QStringLiteral("training"),
                 report::trainingJson(model, lastTraining_->result, lastTraining_->epochs, content.recipe,
                                      QFileInfo(lastTraining_->checkpointDir).absoluteFilePath()));
    const ExportPaths written = writeExportBundle(outPath, model, content);
    return {written.model, written.report, written.csv};
}

} // namespace sparsity
