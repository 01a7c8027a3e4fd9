// inspect, analyze, search and project: commands that measure the model as it is.
#include "commands.h"
#include "setup.h"

#include "capture/capture.h"
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

int cmdInspect(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    Setup s = prepare(p, o, c, progress);
    if (has(p, o.json)) {
        QJsonObject r = report::header(QStringLiteral("inspect"));
        r.insert(QStringLiteral("model"), report::modelJson(*s.model));
        r.insert(QStringLiteral("sites"), report::sitesJson(*s.model));
        r.insert(QStringLiteral("layers"), report::layersJson(*s.model));
        printJson(r);
    } else {
        out(text::inspectText(*s.model));
    }
    return 0;
}

int cmdAnalyze(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    Setup s = prepare(p, o, c, progress);
    std::optional<ProcessorParams> preset;
    if (has(p, o.preset))
        preset = report::findPreset(p.value(o.preset));
    const QString thresholdsFrom = applyThresholdsFrom(p, o, s);
    const auto thresholds = s.model->thresholds();
    const CaptureResult result = runCapture(s, progress, QStringLiteral("analyze"));
    std::optional<CaptureResult> baseline;
    if (preset && !thresholdsFrom.isEmpty()) {
        s.model->setThresholds(std::vector<float>(thresholds.size(), 0.0f));
        for (const Site &site : s.model->sites())
            s.model->setChannelThresholds(site.index, {});
        baseline = runCapture(s, progress, QStringLiteral("baseline (ReLU)"));
    }
    std::optional<report::Projection> projection;
    if (preset)
        projection = report::project(*preset, *s.model, baseline ? baseline->sites : result.sites,
                                     baseline ? &result.sites : nullptr);
    if (has(p, o.json)) {
        QJsonObject r = baseReport(QStringLiteral("analyze"), s);
        r.insert(QStringLiteral("thresholds_source"), thresholdsFrom.isEmpty() ? QJsonValue() : QJsonValue(thresholdsFrom));
        r.insert(QStringLiteral("evaluation"), report::evaluationJson(*s.model, result));
        r.insert(QStringLiteral("sites"), report::siteStatsJson(*s.model, result, !has(p, o.histograms)));
        r.insert(QStringLiteral("per_class"), report::perClassJson(s.data->classNames(), result));
        r.insert(QStringLiteral("baseline_evaluation"), baseline ? QJsonValue(report::evaluationJson(*s.model, *baseline)) : QJsonValue());
        r.insert(QStringLiteral("projection"), projection ? QJsonValue(report::projectionJson(*projection)) : QJsonValue());
        printJson(r);
        return 0;
    }
    out(text::evaluationText(*s.model, result, QStringLiteral("Evaluated on %1%2")
                                                     .arg(evaluatedOn(s), thresholdsFrom.isEmpty() ? QString()
                                                                                                  : QStringLiteral(", thresholds from ") + thresholdsFrom)));
    out(QStringLiteral("\n") + text::siteStatsText(*s.model, result, thresholds));
    if (baseline)
        out(QStringLiteral("\n") + text::evaluationText(*s.model, *baseline, QStringLiteral("ReLU baseline (thresholds 0)")));
    if (projection)
        out(QStringLiteral("\n") + text::projectionText(*projection));
    return 0;
}

int cmdSearch(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    Setup s = prepare(p, o, c, progress);
    const QString before = applyThresholdsFrom(p, o, s);
    const auto startThresholds = s.model->thresholds();
    SearchOptions options;
    options.budgetPp = numberOption(p, o.budget, 0.0, 100.0, 0.5);
    options.stepsPerSite = int(integerOption(p, o.steps, 1, 10));
    options.refine = !has(p, o.noRefine);
    options.perChannel = has(p, o.perChannel);
    if (has(p, o.greedy)) {
        if (options.perChannel)
            throw UsageError{QStringLiteral("--greedy sets one threshold per site; it cannot be combined with --per-channel")};
        options.strategy = SearchOptions::Strategy::Greedy;
    }
    if (has(p, o.channelReference)) {
        const QString ref = p.value(o.channelReference);
        if (ref != QLatin1String("mean") && ref != QLatin1String("median"))
            throw UsageError{QStringLiteral("--channel-reference must be mean or median, not \"%1\"").arg(ref)};
        options.channelReference = ref == QLatin1String("median") ? ChannelReference::MedianPositive : ChannelReference::MeanPositive;
    }
    const std::size_t calibrationCount = std::size_t(integerOption(p, o.calibration, 1, 1000));
    const QString output = has(p, o.output) ? p.value(o.output)
                                             : QFileInfo(s.project.modelPath).completeBaseName() + QStringLiteral(".thresholds.json");
    checkOutputPaths({{output.toStdString(), "thresholds file"}}, inputFiles(p, o, s));

    const auto batches = calibrationBatches(s, calibrationCount, progress);
    std::size_t n = 0;
    for (const Batch &b : batches)
        n += std::size_t(b.n);

    const CaptureResult startEval = runCapture(s, progress, QStringLiteral("evaluate (start)"));
    progress.restart(QStringLiteral("search"));
    const SearchResult result = searchThresholds(*s.model, batches, options, &g_cancel, [&](const SearchProgress &sp) {
        progress.update(sp.evaluationsPlanned ? double(sp.evaluation) / double(sp.evaluationsPlanned) : 0.0);
    });
    progress.finish();
    if (result.cancelled)
        throw Error("cancelled by the user (Ctrl-C) during the threshold search; nothing was written");
    const CaptureResult finalEval = runCapture(s, progress, QStringLiteral("evaluate (searched)"));

    ThresholdsFile file = thresholdsFromModel(*s.model);
    const QJsonObject provenance{{QStringLiteral("command"), QStringLiteral("search")},
                                 {QStringLiteral("budget_pp"), options.budgetPp},
                                 {QStringLiteral("per_channel"), options.perChannel},
                                 {QStringLiteral("strategy"), options.strategy == SearchOptions::Strategy::Greedy ? QStringLiteral("greedy") : QStringLiteral("bisection")},
                                 {QStringLiteral("calibration_images"), double(n)},
                                 {QStringLiteral("calibration_top1"), result.finalTop1},
                                 {QStringLiteral("dataset"), QString::fromStdString(s.info.path)},
                                 {QStringLiteral("evaluation_top1"), finalEval.top1()}};
    file.provenanceJson = QJsonDocument(provenance).toJson(QJsonDocument::Compact).toStdString();
    saveThresholdsFile(file, output.toStdString());

    if (has(p, o.json)) {
        QJsonObject r = baseReport(QStringLiteral("search"), s);
        r.insert(QStringLiteral("search"), report::searchJson(result, options.budgetPp, n));
        r.insert(QStringLiteral("start_thresholds_source"), before.isEmpty() ? QJsonValue() : QJsonValue(before));
        r.insert(QStringLiteral("thresholds"), report::thresholdsJson(*s.model, result.thresholds));
        r.insert(QStringLiteral("channel_thresholds"), report::channelThresholdsJson(*s.model, s.model->channelThresholds()));
        r.insert(QStringLiteral("evaluation_before"), report::evaluationJson(*s.model, startEval));
        r.insert(QStringLiteral("evaluation_after"), report::evaluationJson(*s.model, finalEval));
        r.insert(QStringLiteral("output"), QFileInfo(output).absoluteFilePath());
        printJson(r);
        return 0;
    }
    out(text::searchText(*s.model, result, startThresholds));
    out(QStringLiteral("\n") + text::evaluationText(*s.model, startEval, QStringLiteral("Before, on %1").arg(evaluatedOn(s))));
    out(text::evaluationText(*s.model, finalEval, QStringLiteral("After")));
    out(QStringLiteral("\nThresholds written to %1\n").arg(QDir::toNativeSeparators(output)));
    return 0;
}

int cmdProject(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    if (has(p, o.listPresets)) {
        text::TextTable t;
        t.addColumn(QStringLiteral("preset"), text::TextTable::Align::Left);
        t.addColumn(QStringLiteral("name"), text::TextTable::Align::Left);
        t.addColumn(QStringLiteral("file"), text::TextTable::Align::Left);
        for (const auto &e : listPresets())
            t.addRow({QFileInfo(e.path).completeBaseName(),
                      e.valid ? QString::fromStdString(e.params.name) : QStringLiteral("invalid: ") + QString::fromStdString(e.error),
                      QDir::toNativeSeparators(e.path)});
        out(t.render());
        return 0;
    }
    Setup s = prepare(p, o, c, progress);
    const QString presetName = has(p, o.preset) ? p.value(o.preset) : s.project.processorPreset;
    if (presetName.isEmpty())
        throw UsageError{QStringLiteral("project needs --preset NAME|FILE (see --list-presets)")};
    const ProcessorParams preset = report::findPreset(presetName);
    QJsonObject channels;
    const auto zero = std::vector<float>(s.model->sites().size(), 0.0f);
    const QString thresholdsFrom = applyThresholdsFrom(p, o, s, &channels);
    const auto tunedThresholds = s.model->thresholds();
    std::optional<CaptureResult> tuned;
    if (!thresholdsFrom.isEmpty())
        tuned = runCapture(s, progress, QStringLiteral("tuned"));
    s.model->setThresholds(zero);
    for (const Site &site : s.model->sites())
        s.model->setChannelThresholds(site.index, {});
    const CaptureResult baseline = runCapture(s, progress, QStringLiteral("baseline (ReLU)"));
    const report::Projection projection = report::project(preset, *s.model, baseline.sites, tuned ? &tuned->sites : nullptr);
    if (has(p, o.json)) {
        QJsonObject r = baseReport(QStringLiteral("project"), s);
        r.insert(QStringLiteral("thresholds_source"), thresholdsFrom.isEmpty() ? QJsonValue() : QJsonValue(thresholdsFrom));
        r.insert(QStringLiteral("baseline_evaluation"), report::evaluationJson(*s.model, baseline));
        r.insert(QStringLiteral("tuned_evaluation"), tuned ? QJsonValue(report::evaluationJson(*s.model, *tuned)) : QJsonValue());
        r.insert(QStringLiteral("projection"), report::projectionJson(projection));
        printJson(r);
        return 0;
    }
    out(QStringLiteral("Measured on %1: ReLU baseline top-1 %2 %, sparsity %3")
            .arg(evaluatedOn(s))
            .arg(baseline.top1(), 0, 'f', 2)
            .arg(text::percent(baseline.activationSparsity(sparsifiableMask(s.model->sites())))));
    if (tuned)
        out(QStringLiteral("; tuned (%1) top-1 %2 %, sparsity %3")
                .arg(thresholdsFrom)
                .arg(tuned->top1(), 0, 'f', 2)
                .arg(text::percent(tuned->activationSparsity(sparsifiableMask(s.model->sites())))));
    out(QStringLiteral("\n\n") + text::projectionText(projection));
    if (!tuned)
        out(QStringLiteral("No thresholds given (--thresholds FILE): only the dense reference and the ReLU baseline are shown.\n"));
    return 0;
}

} // namespace sparsity::cli
