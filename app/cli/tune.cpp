// train, compare and export: commands that change the model and write it.
#include "commands.h"
#include "distributed.h"
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

int cmdTrain(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    Setup s = prepare(p, o, c, progress);
    const Recipe recipe = recipeFrom(p, o, s);
    const QString checkpointDir = has(p, o.checkpoints)
                                      ? p.value(o.checkpoints)
                                      : QFileInfo(s.project.modelPath).completeBaseName() + QStringLiteral("-checkpoints");
    if (has(p, o.output) && !p.value(o.output).endsWith(QLatin1String(".pt")) && !p.value(o.output).endsWith(QLatin1String(".onnx")))
        throw UsageError{QStringLiteral("-o %1: the output must end in .pt or .onnx").arg(p.value(o.output))};
    const std::vector<RolePath> inputs = inputFiles(p, o, s);
    if (has(p, o.output))
        exportPaths(p.value(o.output), inputs); // refuses an output that is an input before hours of training
    applyThresholdsFrom(p, o, s);
    const TrainingSplits splits = openTrainingSplits(s.project.datasetPath);
    TrainingData data = splits.data(s.preprocessing);
    data.group = cliGroup();

    std::vector<EpochReport> epochs;
    const QString noPrefix;
    progress.message(QStringLiteral("training (%1) for %2 + %3 epochs, checkpoints in %4")
                         .arg(QString::fromUtf8(methodName(recipe.method)))
                         .arg(recipe.regularizeEpochs)
                         .arg(recipe.finetuneEpochs)
                         .arg(QDir::toNativeSeparators(checkpointDir)));
    const TrainingResult result = sparsity::train(*s.model, recipe, data, checkpointDir.toStdString(), has(p, o.resume),
                                                  &g_cancel, trainingCallbacks(progress, &epochs, &noPrefix));
    progress.finish();
    if (result.cancelled)
        throw Error("cancelled by the user (Ctrl-C); the last finished epoch is in " + checkpointDir.toStdString() +
                    " (continue with --resume)");
    const bool evaluate = !has(p, o.noEvaluate);
    const CaptureResult evaluation = evaluate ? runCapture(s, progress, QStringLiteral("evaluate")) : CaptureResult{};
    const QJsonObject recipeJson = QJsonDocument::fromJson(QByteArray::fromStdString(recipe.toJson())).object();
    QJsonObject r = baseReport(QStringLiteral("train"), s);
    r.insert(QStringLiteral("training"), report::trainingJson(*s.model, result, epochs, recipeJson, QFileInfo(checkpointDir).absoluteFilePath()));
    r.insert(QStringLiteral("evaluation"), evaluate ? QJsonValue(report::evaluationJson(*s.model, evaluation)) : QJsonValue());
    r.insert(QStringLiteral("sites"), evaluate ? QJsonValue(report::siteStatsJson(*s.model, evaluation, false)) : QJsonValue(QJsonArray()));
    QStringList written;
    if (has(p, o.output) && cliLeader())
        written = writeExport(p.value(o.output), s, inputs, evaluate ? &evaluation : nullptr, recipeJson,
                              report::channelThresholdsJson(*s.model, s.model->channelThresholds()), r);
    r.insert(QStringLiteral("export"), written.isEmpty() ? QJsonValue()
                                                          : QJsonValue(QJsonObject{{QStringLiteral("model"), written[0]},
                                                                                   {QStringLiteral("report"), written[1]},
                                                                                   {QStringLiteral("csv"), written[2]}}));
    if (has(p, o.json)) {
        printJson(r);
        return 0;
    }
    out(text::trainingText(*s.model, result, epochs));
    if (evaluate)
        out(QStringLiteral("\n") + text::evaluationText(*s.model, evaluation, QStringLiteral("Fine-tuned model on %1").arg(evaluatedOn(s))));
    if (written.isEmpty())
        out(QStringLiteral("\nWeights are in the checkpoint folder %1; give -o OUT.pt to export the tuned model.\n")
                .arg(QDir::toNativeSeparators(checkpointDir)));
    else
        out(QStringLiteral("\nWritten: %1\n").arg(written.join(QStringLiteral(", "))));
    return 0;
}

int cmdCompare(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    Setup s = prepare(p, o, c, progress);
    const Recipe base = recipeFrom(p, o, s);
    std::vector<Recipe::Method> methods;
    const QString list = has(p, o.methods) ? p.value(o.methods) : QStringLiteral("relu,threshold-only,l1-only,star");
    for (const QString &name : list.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        try {
            methods.push_back(methodFromName(name.trimmed().toStdString()));
        } catch (const Error &) {
            throw UsageError{QStringLiteral("--methods: unknown method \"%1\" (relu, threshold-only, l1-only, star)").arg(name)};
        }
    }
    if (methods.empty())
        throw UsageError{QStringLiteral("--methods lists no method")};
    QTemporaryDir temporary;
    const QString checkpointRoot = has(p, o.checkpoints) ? p.value(o.checkpoints) : temporary.path();
    const TrainingSplits splits = openTrainingSplits(s.project.datasetPath);
    TrainingData data = splits.data(s.preprocessing);
    data.group = cliGroup();
    const QString modelPath = s.project.modelPath;
    const Preprocessing pre = s.preprocessing;
    QString prefix;
    auto fresh = [&] { return loadModel(modelPath, &pre); };
    auto onMethod = [&](const ComparisonProgress &cp) {
        prefix = QStringLiteral("[%1/%2 %3] ").arg(cp.methodIndex + 1).arg(cp.methodCount).arg(QString::fromUtf8(methodName(cp.method)));
        progress.message(prefix + QStringLiteral("training"));
    };
    const TrainingCallbacks callbacks = trainingCallbacks(progress, nullptr, &prefix);
    const MethodComparison result =
        compareMethods(fresh, base, methods, data, *s.data, s.indices, checkpointRoot.toStdString(), &g_cancel, onMethod, callbacks);
    progress.finish();
    if (result.cancelled && result.methods.empty())
        throw Error("cancelled by the user (Ctrl-C) before any method finished");
    if (has(p, o.json)) {
        QJsonObject r = baseReport(QStringLiteral("compare"), s);
        r.insert(QStringLiteral("comparison"), report::methodComparisonJson(result));
        printJson(r);
    } else {
        out(text::methodComparisonText(result, has(p, o.perSite)));
    }
    return result.cancelled ? 1 : 0;
}

int cmdExport(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    if (!has(p, o.output))
        throw UsageError{QStringLiteral("export needs -o OUT.pt (or OUT.onnx)")};
    const QString outPath = p.value(o.output);
    if (!outPath.endsWith(QLatin1String(".pt")) && !outPath.endsWith(QLatin1String(".pth")) && !outPath.endsWith(QLatin1String(".onnx")))
        throw UsageError{QStringLiteral("-o %1: the output must end in .pt or .onnx (OUT.json and OUT.csv are written next to it)").arg(outPath)};
    Setup s = prepare(p, o, c, progress);
    const std::vector<RolePath> inputs = inputFiles(p, o, s);
    exportPaths(outPath, inputs); // before the measurement: an output that is an input is refused at once
    QJsonObject channels;
    const QString thresholdsFrom = applyThresholdsFrom(p, o, s, &channels);
    if (thresholdsFrom.isEmpty())
        throw UsageError{QStringLiteral("export needs --thresholds FILE (or a --project with thresholds)")};
    QJsonObject recipe;
    if (has(p, o.recipe))
        recipe = QJsonDocument::fromJson(QByteArray::fromStdString(Recipe::load(p.value(o.recipe).toStdString()).toJson())).object();
    std::optional<CaptureResult> measured;
    if (s.data)
        measured = runCapture(s, progress, QStringLiteral("measure"));
    QJsonObject r = baseReport(QStringLiteral("export"), s);
    r.insert(QStringLiteral("thresholds_source"), thresholdsFrom);
    r.insert(QStringLiteral("thresholds"), report::thresholdsJson(*s.model, s.model->thresholds()));
    r.insert(QStringLiteral("channel_thresholds"), channels);
    r.insert(QStringLiteral("evaluation"), measured ? QJsonValue(report::evaluationJson(*s.model, *measured)) : QJsonValue());
    r.insert(QStringLiteral("sites"), measured ? QJsonValue(report::siteStatsJson(*s.model, *measured, false)) : QJsonValue(QJsonArray()));
    progress.message(QStringLiteral("exporting to %1").arg(QDir::toNativeSeparators(outPath)));
    const QStringList written = writeExport(outPath, s, inputs, measured ? &*measured : nullptr, recipe, channels, r);
    r.insert(QStringLiteral("export"), QJsonObject{{QStringLiteral("model"), written[0]},
                                                   {QStringLiteral("report"), written[1]},
                                                   {QStringLiteral("csv"), written[2]}});
    if (has(p, o.json)) {
        printJson(r);
        return 0;
    }
    if (measured)
        out(text::evaluationText(*s.model, *measured, QStringLiteral("Tuned model (thresholds from %1) on %2").arg(thresholdsFrom, evaluatedOn(s))) +
            QLatin1Char('\n'));
    out(QStringLiteral("Written:\n  %1\n  %2\n  %3\n").arg(written[0], written[1], written[2]));
    return 0;
}

} // namespace sparsity::cli
