#include "options.h"

#include <QSet>

#include <cmath>

namespace sparsity::cli {

const Command kCommands[] = {
    {"inspect", "inspect [MODEL]", "Activation sites (kind, shape, consumers, MACs), layers and the model's metadata.", 0},
    {"analyze", "analyze [MODEL DATA]", "Capture over a subset: accuracy, per-site sparsity and histograms; optional projection.", 2},
    {"search", "search [MODEL DATA] --budget PP", "Per-site threshold search under a top-1 loss budget; writes a thresholds file.", 2},
    {"sweep", "sweep [MODEL DATA] --budgets LIST | --targets LIST", "Thresholds for a series of budgets (search) or target sparsities (quantile rule), each evaluated: pick a point.", 2},
    {"train", "train [MODEL DATA] --recipe FILE", "STAR, L1-only, threshold-only or ReLU fine-tuning with checkpoints and --resume.", 2},
    {"compare", "compare [MODEL DATA]", "ReLU vs threshold-only vs L1-only vs STAR with the same training budget.", 2},
    {"project", "project [MODEL DATA] --preset NAME|FILE", "Processor projection: dense vs ReLU baseline vs tuned, per layer and totals.", 2},
    {"export", "export [MODEL [DATA]] --thresholds FILE -o OUT.pt", "Thresholded TorchScript plus OUT.json report and OUT.csv per site.", 1},
};

const Command *findCommand(const QString &name)
{
    for (const auto &c : kCommands)
        if (name == QLatin1String(c.name))
            return &c;
    return nullptr;
}

QString programHelp()
{
    QString text = QStringLiteral(
        "Usage: sparsity-cli COMMAND [OPTIONS] [MODEL [DATA]]\n\n"
        "Measure and raise the activation sparsity of a TorchScript or ONNX CNN for event-driven processors.\n"
        "Without MODEL, commands use the sample project (sample ResNet on Fashion-MNIST), so\n"
        "`sparsity-cli analyze` alone demonstrates the program.\n\nCommands:\n");
    for (const auto &c : kCommands)
        text += QStringLiteral("  %1%2\n").arg(QString::fromUtf8(c.name).leftJustified(10), QString::fromUtf8(c.summary));
    text += QStringLiteral(
        "\nRun `sparsity-cli COMMAND --help` for a command's options.\n"
        "Tables go to stdout, progress to stderr; --json prints a versioned machine-readable report\n"
        "(schema \"sparsity-explorer/cli-report\" v1, docs/report-schema.md).\n"
        "Exit codes: 0 success, 1 failure (the message names the file and the problem), 2 usage error.\n");
    return text;
}

// Options of the current command; others count as not set (QCommandLineParser warns on unknown names).
namespace {
QSet<QString> g_defined;
} // namespace

bool has(const QCommandLineParser &p, const QCommandLineOption &o)
{
    return g_defined.contains(o.names().constFirst()) && p.isSet(o);
}

void addOption(QCommandLineParser &p, const QCommandLineOption &o)
{
    p.addOption(o);
    g_defined.insert(o.names().constFirst());
}

void addOptions(QCommandLineParser &p, const Options &o, const QString &command)
{
    addOption(p, o.json);
    addOption(p, o.quiet);
    addOption(p, o.threads);
    addOption(p, o.project);
    addOption(p, o.inputShape);
    if (command == QLatin1String("inspect"))
        return;
    for (const auto *opt : {&o.split, &o.subset, &o.subsetMode, &o.seed, &o.batchSize})
        addOption(p, *opt);
    if (command == QLatin1String("analyze") || command == QLatin1String("train") || command == QLatin1String("compare"))
        addOption(p, o.nproc);
    if (command == QLatin1String("analyze")) {
        for (const auto *opt : {&o.thresholds, &o.preset, &o.histograms})
            addOption(p, *opt);
    } else if (command == QLatin1String("search")) {
        for (const auto *opt : {&o.budget, &o.calibration, &o.steps, &o.noRefine, &o.greedy, &o.perChannel, &o.channelReference, &o.output, &o.thresholds})
            addOption(p, *opt);
    } else if (command == QLatin1String("sweep")) {
        for (const auto *opt : {&o.budgets, &o.targets, &o.calibration, &o.steps, &o.noRefine, &o.perChannel, &o.preset, &o.csv})
            addOption(p, *opt);
    } else if (command == QLatin1String("train") || command == QLatin1String("compare")) {
        for (const auto *opt : {&o.recipe, &o.checkpoints, &o.regularizeEpochs, &o.finetuneEpochs, &o.trainImages,
                                &o.calibrationImages, &o.validationImages})
            addOption(p, *opt);
        if (command == QLatin1String("train"))
            for (const auto *opt : {&o.method, &o.resume, &o.output, &o.thresholds, &o.noEvaluate})
                addOption(p, *opt);
        else
            for (const auto *opt : {&o.methods, &o.perSite})
                addOption(p, *opt);
    } else if (command == QLatin1String("project")) {
        for (const auto *opt : {&o.preset, &o.thresholds, &o.listPresets})
            addOption(p, *opt);
    } else if (command == QLatin1String("export")) {
        for (const auto *opt : {&o.thresholds, &o.output, &o.recipe, &o.noEvaluate})
            addOption(p, *opt);
    }
}

QString commandHelp(const Command &c, QCommandLineParser &parser)
{
    // QCommandLineParser's own text, with our synopsis and description.
    QString text = parser.helpText();
    const qsizetype optionsAt = text.indexOf(QStringLiteral("Options:"));
    QString head = QStringLiteral("Usage: sparsity-cli %1 [OPTIONS]\n\n%2\n").arg(QString::fromUtf8(c.synopsis), QString::fromUtf8(c.summary));
    if (c.dataArgument > 0)
        head += QStringLiteral("MODEL is a TorchScript file; DATA a dataset file or folder (IDX, CIFAR, ImageFolder).\n"
                               "Without MODEL and DATA the sample project is used.\n");
    else
        head += QStringLiteral("MODEL is a TorchScript file; without it the sample model is used.\n");
    return head + QLatin1Char('\n') + (optionsAt >= 0 ? text.mid(optionsAt) : text);
}

// ---- Parsed values ----
qint64 integerOption(const QCommandLineParser &p, const QCommandLineOption &o, qint64 min, qint64 fallback)
{
    if (!has(p, o))
        return fallback;
    bool ok = false;
    const qint64 v = p.value(o).toLongLong(&ok);
    if (!ok || v < min)
        throw UsageError{QStringLiteral("--%1 needs a whole number >= %2, not \"%3\"").arg(o.names().constLast()).arg(min).arg(p.value(o))};
    return v;
}

double numberOption(const QCommandLineParser &p, const QCommandLineOption &o, double min, double max, double fallback)
{
    if (!has(p, o))
        return fallback;
    bool ok = false;
    const double v = p.value(o).toDouble(&ok);
    if (!ok || !std::isfinite(v) || v < min || v > max) // "nan" parses, and compares false with both bounds
        throw UsageError{QStringLiteral("--%1 needs a number between %2 and %3, not \"%4\"").arg(o.names().constLast()).arg(min).arg(max).arg(p.value(o))};
    return v;
}

// --input-shape C,H,W: three positive whole numbers.
std::vector<std::int64_t> inputShapeOption(const QCommandLineParser &p, const Options &o)
{
    std::vector<std::int64_t> chw;
    for (const auto &part : p.value(o.inputShape).split(QLatin1Char(','))) {
        bool ok = false;
        const int v = part.trimmed().toInt(&ok);
        if (!ok || v < 1) {
            chw.clear();
            break;
        }
        chw.push_back(v);
    }
    if (chw.size() != 3)
        throw UsageError{QStringLiteral("--input-shape needs C,H,W (three whole numbers), not \"%1\"").arg(p.value(o.inputShape))};
    return chw;
}

Split parseSplit(const QString &s)
{
    if (s == QLatin1String("test"))
        return Split::Test;
    if (s == QLatin1String("train"))
        return Split::Train;
    throw UsageError{QStringLiteral("--split must be \"test\" or \"train\", not \"%1\"").arg(s)};
}

} // namespace sparsity::cli
