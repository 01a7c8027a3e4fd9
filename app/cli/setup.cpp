#include "setup.h"
#include "distributed.h"

#include "capture/capture.h"
#include "distributed/shardedcapture.h"
#include "tune/comparison.h"
#include "data/dataset.h"
#include "error.h"
#include "graph/model.h"
#include "hardware/processorpreset.h"
#include "io/exportbundle.h"
#include "io/project.h"
#include "io/workspace.h"
#include "tune/recipe.h"
#include "io/report.h"
#include "texttables.h"
#include "threads.h"
#include "tune/thresholdsearch.h"
#include "tune/thresholdsfile.h"
#include "tune/training.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonDocument>
#include <QTemporaryDir>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <unistd.h>

namespace sparsity::cli {

// A fresh copy of the model file for one method of a comparison; keeps an input shape the model declares.
std::shared_ptr<Model> loadModel(const QString &path, const Preprocessing *preprocessing)
{
    auto model = Model::load(path.toStdString());
    if (model->inputShape().empty() && preprocessing)
        model->setInputShape({preprocessing->channels, preprocessing->height, preprocessing->width});
    return model;
}

// Resolves MODEL/DATA/--project and opens them (core/io/workspace.h).
Setup prepare(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    Setup s;
    const QStringList args = p.positionalArguments();
    const int maxArgs = c.dataArgument > 0 ? 2 : 1;
    if (args.size() > maxArgs)
        throw UsageError{QStringLiteral("too many arguments: %1").arg(args.mid(maxArgs).join(QLatin1Char(' ')))};
    if (has(p, o.project)) {
        if (!args.isEmpty())
            throw UsageError{QStringLiteral("give either --project or MODEL/DATA, not both")};
        s.project = loadProject(p.value(o.project));
        s.fromProject = true;
    } else if (args.isEmpty()) {
        s.project = sampleProject();
        s.fromProject = true;
        progress.message(QStringLiteral("No MODEL given: using the sample project (%1 on %2)")
                             .arg(QDir::toNativeSeparators(s.project.modelPath), QDir::toNativeSeparators(s.project.datasetPath)));
    } else {
        s.project = Project();
        s.project.modelPath = args[0];
        s.project.datasetPath = args.size() > 1 ? args[1] : QString();
        s.project.subset.count = 0; // the whole split unless --subset
        s.project.processorPreset = QStringLiteral("neuronflow-28nm");
        if (c.dataArgument == 2 && args.size() < 2)
            throw UsageError{QStringLiteral("%1 needs DATA after MODEL").arg(QString::fromUtf8(c.name))};
        if (args[0].isEmpty() || (args.size() > 1 && args[1].isEmpty()))
            throw UsageError{QStringLiteral("%1: MODEL and DATA must not be empty paths").arg(QString::fromUtf8(c.name))};
    }
    if (has(p, o.split))
        s.project.split = parseSplit(p.value(o.split));
    if (has(p, o.subset))
        s.project.subset.count = std::size_t(integerOption(p, o.subset, 1, 0));
    if (has(p, o.subsetMode)) {
        const QString m = p.value(o.subsetMode);
        if (m == QLatin1String("first"))
            s.project.subset.mode = SubsetSpec::Mode::First;
        else if (m == QLatin1String("random"))
            s.project.subset.mode = SubsetSpec::Mode::Random;
        else if (m == QLatin1String("stratified"))
            s.project.subset.mode = SubsetSpec::Mode::Stratified;
        else
            throw UsageError{QStringLiteral("--subset-mode must be first, random or stratified, not \"%1\"").arg(m)};
    }
    s.project.subset.seed = std::uint64_t(integerOption(p, o.seed, 0, qint64(s.project.subset.seed)));
    s.batchSize = std::size_t(integerOption(p, o.batchSize, 1, 64));

    // export takes DATA optionally and skips the measurement with --no-evaluate.
    if (c.dataArgument == 2 && s.project.datasetPath.isEmpty())
        throw Error((has(p, o.project) ? p.value(o.project).toStdString() : std::string("the project")) +
                    ": the project names no dataset (dataset.path is empty)");
    WorkspaceOverrides overrides;
    overrides.openData = c.dataArgument > 0 && !(c.dataArgument == 1 && has(p, o.noEvaluate));
    if (has(p, o.inputShape))
        overrides.inputShape = inputShapeOption(p, o);
    Workspace w = openWorkspace(s.project, overrides);
    s.model = std::move(w.model);
    s.data = std::move(w.dataset);
    s.preprocessing = w.preprocessing;
    if (!has(p, o.batchSize)) // by input size unless given: large inputs capture faster in smaller batches
        s.batchSize = batchSizeFor(std::int64_t(s.preprocessing.channels) * s.preprocessing.height * s.preprocessing.width);
    s.indices = std::move(w.indices);
    s.info = w.info;
    return s;
}

std::vector<RolePath> inputFiles(const QCommandLineParser &p, const Options &o, const Setup &s)
{
    std::vector<RolePath> inputs{{s.project.modelPath.toStdString(), "model"},
                                 {s.project.datasetPath.toStdString(), "dataset"},
                                 {s.project.weightsPath.toStdString(), "weights file"}};
    for (const auto &[option, role] : {std::pair{&o.thresholds, "thresholds file"}, {&o.recipe, "recipe"}, {&o.project, "project"}})
        if (has(p, *option))
            inputs.push_back({p.value(*option).toStdString(), role});
    if (s.data)
        inputs.push_back({s.data->path(), "dataset"});
    return inputs;
}

QString thresholdsOrigin(const QString &path) { return QDir::toNativeSeparators(path); }

// The thresholds a command should apply: --thresholds FILE, else those of the project (if any). Returns a
// description of where they came from, empty when none (all zero).
QString applyThresholdsFrom(const QCommandLineParser &p, const Options &o, Setup &s, QJsonObject *channelJson)
{
    ThresholdsFile f;
    QString origin;
    if (has(p, o.thresholds)) {
        origin = p.value(o.thresholds);
        f = loadThresholdsFile(origin.toStdString());
    } else if (s.fromProject && (!s.project.thresholds.isEmpty() || !s.project.channelThresholds.isEmpty())) {
        origin = has(p, o.project) ? p.value(o.project) : QStringLiteral("the sample project");
        for (auto it = s.project.thresholds.cbegin(); it != s.project.thresholds.cend(); ++it)
            f.thresholds[it.key().toStdString()] = it.value();
        for (auto it = s.project.channelThresholds.cbegin(); it != s.project.channelThresholds.cend(); ++it)
            f.channelThresholds[it.key().toStdString()] = std::vector<double>(it.value().begin(), it.value().end());
    } else {
        return QString();
    }
    applyThresholds(*s.model, f, thresholdsOrigin(origin).toStdString());
    if (channelJson) {
        const QJsonObject root = QJsonDocument::fromJson(thresholdsFileToJson(f)).object();
        *channelJson = root.value(QStringLiteral("channel_thresholds")).toObject();
    }
    return origin;
}

std::vector<Batch> calibrationBatches(const Setup &s, std::size_t count, Progress &progress)
{
    DatasetOptions trainOptions;
    trainOptions.split = Split::Train;
    const auto train = openDataset(s.project.datasetPath.toStdString(), trainOptions);
    const std::size_t n = std::min(count, train->size());
    std::vector<std::size_t> indices;
    for (std::size_t i = train->size() - n; i < train->size(); ++i)
        indices.push_back(i);
    if (s.project.split == Split::Train)
        progress.message(QStringLiteral("warning: evaluating on the training split, which holds the calibration images"));
    progress.message(QStringLiteral("loading %1 calibration images from the training split").arg(n));
    return loadBatches(*train, s.preprocessing, indices, s.batchSize);
}

CaptureResult runCapture(Setup &s, Progress &progress, const QString &label, bool stats)
{
    progress.restart(label);
    CaptureOptions options;
    options.batchSize = s.batchSize;
    options.collectStats = stats;
    options.keepPredictions = false;
    auto result = captureSharded(cliGroup(), *s.model, *s.data, s.preprocessing, s.indices, options, &g_cancel, [&](const CaptureProgress &c) {
        progress.update(c.imagesTotal ? double(c.imagesDone) / double(c.imagesTotal) : 1.0);
    });
    progress.finish();
    if (result.cancelled)
        throw Error("cancelled by the user (Ctrl-C) during " + label.toStdString());
    if (result.skipped)
        progress.message(QStringLiteral("warning: %1 unreadable images skipped, e.g. %2")
                             .arg(result.skipped)
                             .arg(result.skippedExamples.empty() ? QString() : QString::fromStdString(result.skippedExamples.front())));
    return result;
}

QJsonObject baseReport(const QString &command, const Setup &s)
{
    QJsonObject r = report::header(command);
    r.insert(QStringLiteral("model"), report::modelJson(*s.model));
    r.insert(QStringLiteral("dataset"), s.data ? QJsonValue(report::datasetJson(s.info)) : QJsonValue());
    return r;
}

void printJson(const QJsonObject &r) { out(QString::fromUtf8(QJsonDocument(r).toJson(QJsonDocument::Indented))); }

QString evaluatedOn(const Setup &s)
{
    return QStringLiteral("%1 images of %2 (%3 split)")
        .arg(s.indices.size())
        .arg(QDir::toNativeSeparators(QString::fromStdString(s.info.path)), QString::fromStdString(s.info.split));
}

Recipe recipeFrom(const QCommandLineParser &p, const Options &o, const Setup &s)
{
    Recipe recipe;
    if (has(p, o.recipe)) {
        recipe = Recipe::load(p.value(o.recipe).toStdString());
    } else if (s.fromProject && !s.project.recipe.isEmpty()) {
        recipe = Recipe::fromJson(QJsonDocument(s.project.recipe).toJson().toStdString(),
                                  has(p, o.project) ? p.value(o.project).toStdString() + " (recipe)" : "project recipe");
    } else {
        Recipe::Method method = Recipe::Method::Star;
        if (has(p, o.method)) {
            try {
                method = methodFromName(p.value(o.method).toStdString());
            } catch (const Error &) {
                throw UsageError{QStringLiteral("--method must be star, l1-only, threshold-only or relu, not \"%1\"").arg(p.value(o.method))};
            }
        }
        recipe = Recipe::forMethod(method);
    }
    if (has(p, o.regularizeEpochs))
        recipe.regularizeEpochs = int(integerOption(p, o.regularizeEpochs, 0, 0));
    if (has(p, o.finetuneEpochs))
        recipe.finetuneEpochs = int(integerOption(p, o.finetuneEpochs, 0, 0));
    if (has(p, o.trainImages))
        recipe.trainImages = std::size_t(integerOption(p, o.trainImages, 0, 0));
    if (has(p, o.calibrationImages))
        recipe.calibrationImages = std::size_t(integerOption(p, o.calibrationImages, 1, 1));
    if (has(p, o.validationImages))
        recipe.validationImages = std::size_t(integerOption(p, o.validationImages, 0, 0));
    if (has(p, o.batchSize))
        recipe.batchSize = std::size_t(integerOption(p, o.batchSize, 1, 64));
    return recipe;
}

// `prefix` (e.g. "[2/4 star] ") is read at each call, so one set of callbacks serves several runs.
TrainingCallbacks trainingCallbacks(Progress &progress, std::vector<EpochReport> *epochs, const QString *prefixPtr)
{
    const QString *const prefix = prefixPtr;
    TrainingCallbacks callbacks;
    callbacks.step = [&progress, prefix, last = std::make_shared<QString>()](const TrainingStep &st) {
        const QString label = QStringLiteral("%1%2 epoch %3").arg(*prefix, QString::fromStdString(st.phase)).arg(st.epoch + 1);
        if (*last != label) {
            *last = label;
            progress.restart(label);
        }
        progress.update(st.stepsPerEpoch ? double(st.step + 1) / double(st.stepsPerEpoch) : 1.0);
    };
    callbacks.epoch = [&progress, epochs, prefix](const EpochReport &e) {
        if (epochs)
            epochs->push_back(e);
        progress.message(QStringLiteral("%1epoch %2/%3 (%4): validation top-1 %5 %, sparsity %6, %7")
                             .arg(*prefix)
                             .arg(e.epoch + 1)
                             .arg(e.epochsTotal)
                             .arg(QString::fromStdString(e.phase))
                             .arg(e.validationTop1, 0, 'f', 2)
                             .arg(text::percent(e.validationSparsity, 2), text::seconds(e.seconds)));
    };
    callbacks.search = [&progress, prefix, started = std::make_shared<bool>(false)](const SearchProgress &sp) {
        if (!*started) {
            *started = true;
            progress.restart(*prefix + QStringLiteral("threshold search"));
        }
        progress.update(sp.evaluationsPlanned ? double(sp.evaluation) / double(sp.evaluationsPlanned) : 0.0);
    };
    callbacks.message = [&progress, prefix](const std::string &m) { progress.message(*prefix + QString::fromStdString(m)); };
    return callbacks;
}

// The export bundle (core/io/exportbundle.h) of the model as it runs now; `reportJson` is the report so far.
QStringList writeExport(const QString &outPath, const Setup &s, const std::vector<RolePath> &inputs,
                        const CaptureResult *measured, const QJsonObject &recipe, const QJsonObject &channelThresholds,
                        QJsonObject reportJson)
{
    ExportContent content;
    content.thresholds = s.model->thresholds();
    content.channelThresholds = channelThresholds;
    content.recipe = recipe;
    content.measured = measured;
    content.measuredOn = s.data ? report::datasetJson(s.info) : QJsonObject();
    content.report = std::move(reportJson);
    content.inputs = inputs;
    const ExportPaths written = writeExportBundle(outPath, *s.model, content);
    return {written.model, written.report, written.csv};
}

} // namespace sparsity::cli
