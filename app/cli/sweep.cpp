// sweep: thresholds for a series of budgets or target sparsities, each evaluated exactly on the subset.
#include "commands.h"
#include "setup.h"

#include "error.h"
#include "graph/model.h"
#include "io/outputpaths.h"
#include "io/sweepreport.h"
#include "texttables.h"
#include "tune/sweep.h"

#include <QDir>
#include <QFileInfo>

namespace sparsity::cli {

namespace {

std::vector<double> numberList(const QCommandLineParser &p, const QCommandLineOption &o)
{
    std::vector<double> values;
    for (const QString &part : p.value(o).split(QLatin1Char(','))) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok)
            throw UsageError{QStringLiteral("--%1 needs numbers separated by commas, not \"%2\"").arg(o.names().constLast(), p.value(o))};
        values.push_back(v);
    }
    return values;
}

} // namespace

int cmdSweep(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    if (has(p, o.budgets) && has(p, o.targets))
        throw UsageError{QStringLiteral("give --budgets (searches) or --targets (quantile rule), not both")};
    SweepOptions options;
    options.rule = has(p, o.targets) ? SweepOptions::Rule::Quantile : SweepOptions::Rule::Search;
    options.values = has(p, o.targets) ? numberList(p, o.targets)
                     : has(p, o.budgets) ? numberList(p, o.budgets) : std::vector<double>{0.25, 0.5, 1.0, 2.0};
    try {
        checkSweepValues(options.rule, options.values, has(p, o.targets) ? "--targets" : "--budgets");
    } catch (const Error &e) {
        throw UsageError{QString::fromUtf8(e.what())};
    }
    options.search.stepsPerSite = int(integerOption(p, o.steps, 1, 10));
    options.search.refine = !has(p, o.noRefine);
    options.search.perChannel = has(p, o.perChannel);
    const std::size_t calibrationCount = std::size_t(integerOption(p, o.calibration, 1, 1000));

    Setup s = prepare(p, o, c, progress);
    const QString csvPath = has(p, o.csv) ? p.value(o.csv) : QString();
    if (!csvPath.isEmpty())
        checkOutputPaths({{csvPath.toStdString(), "CSV file"}}, inputFiles(p, o, s));
    const QString presetName = has(p, o.preset) ? p.value(o.preset)
                               : !s.project.processorPreset.isEmpty() ? s.project.processorPreset : QStringLiteral("neuronflow-28nm");
    const ProcessorParams processor = report::findPreset(presetName);

    const auto calibration = calibrationBatches(s, calibrationCount, progress);
    progress.message(QStringLiteral("loading the %1 evaluation images").arg(s.indices.size()));
    const auto evaluation = loadBatches(*s.data, s.preprocessing, s.indices, s.batchSize);
    progress.restart(QStringLiteral("sweep"));
    const SweepResult result = runSweep(*s.model, calibration, evaluation, options, &processor, &g_cancel,
                                        [&](const SweepProgress &sp) { progress.update(sp.fraction); });
    progress.finish();
    if (result.cancelled)
        throw Error("cancelled by the user (Ctrl-C) during the sweep; nothing was written");
    if (!csvPath.isEmpty())
        writeFileAtomically(csvPath.toStdString(), report::sweepCsv(result).toStdString());

    if (has(p, o.json)) {
        QJsonObject r = baseReport(QStringLiteral("sweep"), s);
        QJsonObject sweep = report::sweepJson(*s.model, result);
        sweep.insert(QStringLiteral("processor"), QString::fromStdString(processor.name));
        r.insert(QStringLiteral("sweep"), sweep);
        r.insert(QStringLiteral("csv"), csvPath.isEmpty() ? QJsonValue() : QJsonValue(QFileInfo(csvPath).absoluteFilePath()));
        printJson(r);
        return 0;
    }
    out(text::sweepText(result, QString::fromStdString(processor.name),
                        QStringLiteral("Evaluated on %1; thresholds from %2 calibration images of the training split")
                            .arg(evaluatedOn(s))
                            .arg(result.calibrationImages)));
    if (!csvPath.isEmpty())
        out(QStringLiteral("\nPoints written to %1\n").arg(QDir::toNativeSeparators(csvPath)));
    return 0;
}

} // namespace sparsity::cli
