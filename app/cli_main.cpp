// sparsity-cli: the headless twin of Sparsity Explorer. Wiring only: parse the command line, call the engine in
// core/, print what core/report.h formats. docs/cli.md describes every command; docs/report-schema.md the --json output.
#include "capture/capture.h"
#include "tune/comparison.h"
#include "data/dataset.h"
#include "error.h"
#include "graph/model.h"
#include "graph/onnximport.h"
#include "hardware/processorpreset.h"
#include "io/project.h"
#include "tune/recipe.h"
#include "io/report.h"
#include "threads.h"
#include "tune/thresholdsearch.h"
#include "tune/thresholdsfile.h"
#include "tune/training.h"
#include "graph/weights.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QSet>
#include <QJsonDocument>
#include <QTemporaryDir>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <unistd.h>

using namespace sparsity;

namespace {

std::atomic<bool> g_cancel{false};

extern "C" void onInterrupt(int)
{
    // First Ctrl-C: stop at the next batch (training keeps its last checkpoint). Second: default action.
    g_cancel.store(true);
    std::signal(SIGINT, SIG_DFL);
}

struct UsageError {
    QString message;
};

void out(const QString &text) { std::fputs(text.toLocal8Bit().constData(), stdout); }
void err(const QString &text) { std::fputs(text.toLocal8Bit().constData(), stderr); }

// ---- Progress on stderr: a live bar on a terminal, plain lines (every 10 %) otherwise ----
class Progress {
public:
    explicit Progress(bool quiet) : quiet_(quiet), tty_(::isatty(2) == 1) { timer_.start(); }
    ~Progress() { finish(); }
    void restart(const QString &label)
    {
        finish();
        label_ = label;
        lastDecile_ = -1;
        timer_.restart();
        lastDraw_ = -1000;
    }
    void update(double fraction)
    {
        if (quiet_)
            return;
        const double elapsed = double(timer_.elapsed()) / 1000.0;
        if (tty_) {
            if (timer_.elapsed() - lastDraw_ < 100 && fraction < 1.0)
                return;
            lastDraw_ = timer_.elapsed();
            err(QStringLiteral("\r\033[K") + report::progressLine(label_, fraction, elapsed, 30));
            open_ = true;
        } else {
            const int decile = int(fraction * 10.0);
            if (decile == lastDecile_)
                return;
            lastDecile_ = decile;
            err(report::progressLine(label_, fraction, elapsed, 0) + QLatin1Char('\n'));
        }
    }
    void message(const QString &text)
    {
        if (quiet_)
            return;
        finish();
        err(text + QLatin1Char('\n'));
    }
    void finish()
    {
        if (open_)
            err(QStringLiteral("\n"));
        open_ = false;
    }

private:
    bool quiet_;
    bool tty_;
    bool open_ = false;
    QString label_;
    int lastDecile_ = -1;
    qint64 lastDraw_ = -1000;
    QElapsedTimer timer_;
};

// ---- Command descriptions ----
struct Command {
    const char *name;
    const char *synopsis;
    const char *summary;
    int dataArgument; // 0: no DATA, 1: DATA optional, 2: DATA required (with MODEL)
};

const Command kCommands[] = {
    {"inspect", "inspect [MODEL]", "Activation sites (kind, shape, consumers, MACs), layers and the model's metadata.", 0},
    {"analyze", "analyze [MODEL DATA]", "Capture over a subset: accuracy, per-site sparsity and histograms; optional projection.", 2},
    {"search", "search [MODEL DATA] --budget PP", "Per-site threshold search under a top-1 loss budget; writes a thresholds file.", 2},
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
        "Measure and raise the activation sparsity of a TorchScript CNN for event-driven processors.\n"
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

// ---- Options ----
struct Options {
    QCommandLineOption json{QStringLiteral("json"), QStringLiteral("Print the machine-readable report (JSON) instead of tables.")};
    QCommandLineOption quiet{{QStringLiteral("q"), QStringLiteral("quiet")}, QStringLiteral("No progress on stderr.")};
    QCommandLineOption threads{QStringLiteral("threads"), QStringLiteral("Compute threads (default: one per core)."), QStringLiteral("N")};
    QCommandLineOption project{QStringLiteral("project"), QStringLiteral("Take model, data, subset, preprocessing, thresholds and preset from a project file."), QStringLiteral("FILE")};
    QCommandLineOption split{QStringLiteral("split"), QStringLiteral("Dataset split to evaluate on: test (default) or train."), QStringLiteral("SPLIT")};
    QCommandLineOption subset{QStringLiteral("subset"), QStringLiteral("Evaluate on N images (default: the project's subset, else the whole split)."), QStringLiteral("N")};
    QCommandLineOption subsetMode{QStringLiteral("subset-mode"), QStringLiteral("How the subset is drawn: first (default), random or stratified."), QStringLiteral("MODE")};
    QCommandLineOption seed{QStringLiteral("seed"), QStringLiteral("Seed of random and stratified subsets (default 0)."), QStringLiteral("N")};
    QCommandLineOption batchSize{QStringLiteral("batch-size"), QStringLiteral("Images per batch (default 64)."), QStringLiteral("N")};
    QCommandLineOption thresholds{QStringLiteral("thresholds"), QStringLiteral("Thresholds file (schema sparsity-explorer/thresholds) to apply."), QStringLiteral("FILE")};
    QCommandLineOption preset{QStringLiteral("preset"), QStringLiteral("Processor preset: a built-in name (neuronflow-28nm, dense-mac-array-28nm) or a JSON file."), QStringLiteral("NAME|FILE")};
    QCommandLineOption listPresets{QStringLiteral("list-presets"), QStringLiteral("List the processor presets and exit.")};
    QCommandLineOption histograms{QStringLiteral("no-histograms"), QStringLiteral("Leave the per-site histograms out of the JSON report.")};
    QCommandLineOption inputShape{QStringLiteral("input-shape"), QStringLiteral("Model input C,H,W: images are resized exactly to it (overrides the metadata and the project)."), QStringLiteral("C,H,W")};
    QCommandLineOption budget{QStringLiteral("budget"), QStringLiteral("Allowed top-1 loss on the calibration set, percentage points (default 0.5)."), QStringLiteral("PP")};
    QCommandLineOption calibration{QStringLiteral("calibration"), QStringLiteral("Calibration images, taken from the end of the training split (default 1000)."), QStringLiteral("N")};
    QCommandLineOption steps{QStringLiteral("steps"), QStringLiteral("Binary-search steps per site (default 10)."), QStringLiteral("N")};
    QCommandLineOption perChannel{QStringLiteral("per-channel"), QStringLiteral("Per-channel thresholds t_c = s x r_c (r_c: the channel's mean positive activation on the calibration set), one searched s per site.")};
    QCommandLineOption channelReference{QStringLiteral("channel-reference"), QStringLiteral("With --per-channel: r_c is the channel's mean (default) or median positive activation."), QStringLiteral("mean|median")};
    QCommandLineOption noRefine{QStringLiteral("no-refine"), QStringLiteral("Skip the per-site refinement after the joint scaling.")};
    QCommandLineOption greedy{QStringLiteral("greedy"), QStringLiteral("Greedy search instead of bisection: small steps, each to the site that removes the most activations per unit of KL divergence from the starting model's scores (classifiers; one threshold per site).")};
    QCommandLineOption output{{QStringLiteral("o"), QStringLiteral("output")}, QStringLiteral("Output file."), QStringLiteral("FILE")};
    QCommandLineOption recipe{QStringLiteral("recipe"), QStringLiteral("Recipe file (schema sparsity-explorer/recipe); default: STAR defaults."), QStringLiteral("FILE")};
    QCommandLineOption method{QStringLiteral("method"), QStringLiteral("Without --recipe: star (default), l1-only, threshold-only or relu."), QStringLiteral("METHOD")};
    QCommandLineOption methods{QStringLiteral("methods"), QStringLiteral("Methods to compare, comma separated (default relu,threshold-only,l1-only,star)."), QStringLiteral("LIST")};
    QCommandLineOption checkpoints{QStringLiteral("checkpoints"), QStringLiteral("Checkpoint folder (train default: MODEL-checkpoints next to the current directory; compare: a temporary folder)."), QStringLiteral("DIR")};
    QCommandLineOption resume{QStringLiteral("resume"), QStringLiteral("Continue from the newest checkpoint in the checkpoint folder.")};
    QCommandLineOption regularizeEpochs{QStringLiteral("regularize-epochs"), QStringLiteral("Override the recipe's regularize epochs."), QStringLiteral("N")};
    QCommandLineOption finetuneEpochs{QStringLiteral("finetune-epochs"), QStringLiteral("Override the recipe's fine-tune epochs."), QStringLiteral("N")};
    QCommandLineOption trainImages{QStringLiteral("train-images"), QStringLiteral("Override the recipe's training images (0 = whole split)."), QStringLiteral("N")};
    QCommandLineOption calibrationImages{QStringLiteral("calibration-images"), QStringLiteral("Override the recipe's calibration images."), QStringLiteral("N")};
    QCommandLineOption validationImages{QStringLiteral("validation-images"), QStringLiteral("Override the recipe's per-epoch validation images."), QStringLiteral("N")};
    QCommandLineOption noEvaluate{QStringLiteral("no-evaluate"), QStringLiteral("Do not measure accuracy and sparsity (export without data).")};
    QCommandLineOption perSite{QStringLiteral("per-site"), QStringLiteral("Also print the per-site sparsity table.")};
};

// Options of the current command; others count as not set (QCommandLineParser warns on unknown names).
QSet<QString> g_defined;

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
    if (command == QLatin1String("analyze")) {
        for (const auto *opt : {&o.thresholds, &o.preset, &o.histograms})
            addOption(p, *opt);
    } else if (command == QLatin1String("search")) {
        for (const auto *opt : {&o.budget, &o.calibration, &o.steps, &o.noRefine, &o.greedy, &o.perChannel, &o.channelReference, &o.output, &o.thresholds})
            addOption(p, *opt);
    } else if (command == QLatin1String("train") || command == QLatin1String("compare")) {
        for (const auto *opt : {&o.recipe, &o.checkpoints, &o.regularizeEpochs, &o.finetuneEpochs, &o.trainImages,
                                &o.calibrationImages, &o.validationImages})
            addOption(p, *opt);
        if (command == QLatin1String("train"))
            for (const auto *opt : {&o.method, &o.resume, &o.output, &o.thresholds})
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
    if (!ok || v < min || v > max)
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

// Everything a command works on: the model, the data, the subset and the preprocessing.
struct Setup {
    Project project;   // from --project, the sample project, or the command line
    bool fromProject = false; // sample or --project: their subset and thresholds apply
    std::shared_ptr<Model> model;
    std::unique_ptr<Dataset> data;
    Preprocessing preprocessing;
    std::vector<std::size_t> indices;
    report::DatasetInfo info;
    std::size_t batchSize = 64;
};

Split parseSplit(const QString &s)
{
    if (s == QLatin1String("test"))
        return Split::Test;
    if (s == QLatin1String("train"))
        return Split::Train;
    throw UsageError{QStringLiteral("--split must be \"test\" or \"train\", not \"%1\"").arg(s)};
}

std::string splitName(Split s) { return s == Split::Test ? "test" : "train"; }

std::shared_ptr<Model> loadModel(const QString &path, const Preprocessing *preprocessing)
{
    auto model = Model::load(path.toStdString());
    if (model->inputShape().empty() && preprocessing)
        model->setInputShape({preprocessing->channels, preprocessing->height, preprocessing->width});
    return model;
}

// Resolves MODEL/DATA/--project; opens the data when `needData`.
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
    const bool needData = c.dataArgument > 0 && !s.project.datasetPath.isEmpty() &&
                          !(c.dataArgument == 1 && has(p, o.noEvaluate));
    if (needData) {
        DatasetOptions options;
        options.split = s.project.split;
        s.data = openDataset(s.project.datasetPath.toStdString(), options);
        const std::size_t n = s.project.subset.count ? s.project.subset.count : s.data->size();
        switch (s.project.subset.mode) {
        case SubsetSpec::Mode::First: s.indices = firstN(*s.data, n); break;
        case SubsetSpec::Mode::Random: s.indices = randomN(*s.data, n, s.project.subset.seed); break;
        case SubsetSpec::Mode::Stratified: s.indices = stratifiedN(*s.data, n, s.project.subset.seed); break;
        }
        const char *modes[] = {"first", "random", "stratified"};
        s.info = {s.data->path(), splitName(s.project.split), s.data->format(), s.data->describe(), s.data->size(),
                  modes[int(s.project.subset.mode)], s.indices.size(), s.project.subset.seed};
    }
    s.model = Model::load(s.project.modelPath.toStdString());
    if (!s.project.weightsPath.isEmpty()) // a project saved by the explorer after a fine-tuning
        loadWeights(*s.model, s.project.weightsPath.toStdString());
    s.preprocessing = s.project.hasPreprocessing
                          ? s.project.preprocessing
                          : s.model->defaultPreprocessing(s.data ? impliedPreprocessing(*s.data) : Preprocessing{});
    if (has(p, o.inputShape)) {
        const auto chw = inputShapeOption(p, o);
        // The model's input size, reached by an exact resize; statistics of another channel count cannot apply.
        s.preprocessing.resize = Preprocessing::Resize::Exact;
        s.preprocessing.centerCrop = false;
        if (s.preprocessing.channels != int(chw[0]) && s.preprocessing.mean.size() > 1) {
            s.preprocessing.mean = {0.0f};
            s.preprocessing.std = {1.0f};
        }
        s.preprocessing.channels = int(chw[0]);
        s.preprocessing.height = int(chw[1]);
        s.preprocessing.width = int(chw[2]);
        s.model->setInputShape(chw);
    }
    if (s.model->inputShape().empty() && (s.data || s.project.hasPreprocessing))
        s.model->setInputShape({s.preprocessing.channels, s.preprocessing.height, s.preprocessing.width});
    return s;
}

QString thresholdsOrigin(const QString &path) { return QDir::toNativeSeparators(path); }

// The thresholds a command should apply: --thresholds FILE, else those of the project (if any). Returns a
// description of where they came from, empty when none (all zero).
QString applyThresholdsFrom(const QCommandLineParser &p, const Options &o, Setup &s, QJsonObject *channelJson = nullptr)
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

CaptureResult runCapture(Setup &s, Progress &progress, const QString &label, bool stats = true)
{
    progress.restart(label);
    CaptureOptions options;
    options.batchSize = s.batchSize;
    options.collectStats = stats;
    options.keepPredictions = false;
    auto result = capture(*s.model, *s.data, s.preprocessing, s.indices, options, &g_cancel, [&](const CaptureProgress &c) {
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

// ---- Commands ----

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
        out(report::inspectText(*s.model));
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
    out(report::evaluationText(*s.model, result, QStringLiteral("Evaluated on %1%2")
                                                     .arg(evaluatedOn(s), thresholdsFrom.isEmpty() ? QString()
                                                                                                  : QStringLiteral(", thresholds from ") + thresholdsFrom)));
    out(QStringLiteral("\n") + report::siteStatsText(*s.model, result, thresholds));
    if (baseline)
        out(QStringLiteral("\n") + report::evaluationText(*s.model, *baseline, QStringLiteral("ReLU baseline (thresholds 0)")));
    if (projection)
        out(QStringLiteral("\n") + report::projectionText(*projection));
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
    if (QFileInfo(output).absoluteFilePath() == QFileInfo(s.project.modelPath).absoluteFilePath())
        throw UsageError{QStringLiteral("-o %1 would overwrite the model").arg(output)};

    // Calibration images come from the end of the training split (as in training), so they are held out from
    // the evaluation subset of the test split.
    DatasetOptions trainOptions;
    trainOptions.split = Split::Train;
    const auto train = openDataset(s.project.datasetPath.toStdString(), trainOptions);
    const std::size_t n = std::min(calibrationCount, train->size());
    std::vector<std::size_t> calibrationIndices;
    for (std::size_t i = train->size() - n; i < train->size(); ++i)
        calibrationIndices.push_back(i);
    if (s.project.split == Split::Train)
        progress.message(QStringLiteral("warning: evaluating on the training split, which holds the calibration images"));
    progress.message(QStringLiteral("loading %1 calibration images from the training split").arg(n));
    const auto batches = loadBatches(*train, s.preprocessing, calibrationIndices, s.batchSize);

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
    out(report::searchText(*s.model, result, startThresholds));
    out(QStringLiteral("\n") + report::evaluationText(*s.model, startEval, QStringLiteral("Before, on %1").arg(evaluatedOn(s))));
    out(report::evaluationText(*s.model, finalEval, QStringLiteral("After")));
    out(QStringLiteral("\nThresholds written to %1\n").arg(QDir::toNativeSeparators(output)));
    return 0;
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
                             .arg(report::percent(e.validationSparsity, 2), report::seconds(e.seconds)));
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

// Writes OUT.pt (thresholded TorchScript), OUT.json (the report) and OUT.csv (per site). Never the input.
QStringList writeExport(const QString &outPath, const Setup &s, const CaptureResult *measured, const QJsonObject &recipe,
                        const QJsonObject &channelThresholds, QJsonObject reportJson)
{
    const QFileInfo outInfo(outPath);
    const QString base = outInfo.absolutePath() + QLatin1Char('/') + outInfo.completeBaseName();
    const QString jsonPath = base + QStringLiteral(".json"), csvPath = base + QStringLiteral(".csv");
    const QString input = QFileInfo(s.project.modelPath).absoluteFilePath();
    for (const QString &target : {outInfo.absoluteFilePath(), jsonPath, csvPath})
        if (target == input)
            throw Error(target.toStdString() + ": refusing to overwrite the input model; choose another -o");
    const bool onnx = outPath.endsWith(QLatin1String(".onnx"));
    if (!onnx && !outPath.endsWith(QLatin1String(".pt")) && !outPath.endsWith(QLatin1String(".pth")))
        throw UsageError{QStringLiteral("-o %1: the output must end in .pt or .onnx (OUT.json and OUT.csv are written next to it)").arg(outPath)};
    const QJsonObject measuredOn = s.data ? report::datasetJson(s.info) : QJsonObject();
    const auto thresholds = s.model->thresholds();
    const std::string metadata = report::exportMetadata(*s.model, thresholds, channelThresholds, recipe, measured, measuredOn);
    if (onnx)
        exportThresholdedOnnx(*s.model, outInfo.absoluteFilePath().toStdString(), metadata);
    else
        s.model->exportThresholded(outInfo.absoluteFilePath().toStdString(), metadata);
    reportJson.insert(QStringLiteral("export"), QJsonObject{{QStringLiteral("model"), outInfo.absoluteFilePath()},
                                                            {QStringLiteral("report"), jsonPath},
                                                            {QStringLiteral("csv"), csvPath}});
    report::writeFileAtomically(jsonPath, QJsonDocument(reportJson).toJson(QJsonDocument::Indented));
    report::writeFileAtomically(csvPath, report::perSiteCsv(*s.model, thresholds, measured).toUtf8());
    return {outInfo.absoluteFilePath(), jsonPath, csvPath};
}

int cmdTrain(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    Setup s = prepare(p, o, c, progress);
    const Recipe recipe = recipeFrom(p, o, s);
    const QString checkpointDir = has(p, o.checkpoints)
                                      ? p.value(o.checkpoints)
                                      : QFileInfo(s.project.modelPath).completeBaseName() + QStringLiteral("-checkpoints");
    if (has(p, o.output) && !p.value(o.output).endsWith(QLatin1String(".pt")))
        throw UsageError{QStringLiteral("-o %1: the output must end in .pt").arg(p.value(o.output))};
    applyThresholdsFrom(p, o, s);
    DatasetOptions trainOptions;
    trainOptions.split = Split::Train;
    const auto train = openDataset(s.project.datasetPath.toStdString(), trainOptions);
    DatasetOptions testOptions;
    testOptions.split = Split::Test;
    const auto validation = openDataset(s.project.datasetPath.toStdString(), testOptions);
    TrainingData data{train.get(), validation.get(), s.preprocessing};

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
    const CaptureResult evaluation = runCapture(s, progress, QStringLiteral("evaluate"));
    const QJsonObject recipeJson = QJsonDocument::fromJson(QByteArray::fromStdString(recipe.toJson())).object();
    QJsonObject r = baseReport(QStringLiteral("train"), s);
    r.insert(QStringLiteral("training"), report::trainingJson(*s.model, result, epochs, recipeJson, QFileInfo(checkpointDir).absoluteFilePath()));
    r.insert(QStringLiteral("evaluation"), report::evaluationJson(*s.model, evaluation));
    r.insert(QStringLiteral("sites"), report::siteStatsJson(*s.model, evaluation, false));
    QStringList written;
    if (has(p, o.output))
        written = writeExport(p.value(o.output), s, &evaluation, recipeJson,
                              report::channelThresholdsJson(*s.model, s.model->channelThresholds()), r);
    r.insert(QStringLiteral("export"), written.isEmpty() ? QJsonValue()
                                                          : QJsonValue(QJsonObject{{QStringLiteral("model"), written[0]},
                                                                                   {QStringLiteral("report"), written[1]},
                                                                                   {QStringLiteral("csv"), written[2]}}));
    if (has(p, o.json)) {
        printJson(r);
        return 0;
    }
    out(report::trainingText(*s.model, result, epochs));
    out(QStringLiteral("\n") + report::evaluationText(*s.model, evaluation, QStringLiteral("Fine-tuned model on %1").arg(evaluatedOn(s))));
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
    DatasetOptions trainOptions;
    trainOptions.split = Split::Train;
    const auto train = openDataset(s.project.datasetPath.toStdString(), trainOptions);
    DatasetOptions testOptions;
    testOptions.split = Split::Test;
    const auto validation = openDataset(s.project.datasetPath.toStdString(), testOptions);
    TrainingData data{train.get(), validation.get(), s.preprocessing};
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
        out(report::methodComparisonText(result, has(p, o.perSite)));
    }
    return result.cancelled ? 1 : 0;
}

int cmdProject(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    if (has(p, o.listPresets)) {
        report::TextTable t;
        t.addColumn(QStringLiteral("preset"), report::TextTable::Align::Left);
        t.addColumn(QStringLiteral("name"), report::TextTable::Align::Left);
        t.addColumn(QStringLiteral("file"), report::TextTable::Align::Left);
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
            .arg(report::percent(baseline.activationSparsity([&] {
                std::vector<bool> m;
                for (const Site &site : s.model->sites())
                    m.push_back(site.sparsifiable);
                return m;
            }()))));
    if (tuned) {
        std::vector<bool> m;
        for (const Site &site : s.model->sites())
            m.push_back(site.sparsifiable);
        out(QStringLiteral("; tuned (%1) top-1 %2 %, sparsity %3").arg(thresholdsFrom).arg(tuned->top1(), 0, 'f', 2).arg(report::percent(tuned->activationSparsity(m))));
    }
    out(QStringLiteral("\n\n") + report::projectionText(projection));
    if (!tuned)
        out(QStringLiteral("No thresholds given (--thresholds FILE): only the dense reference and the ReLU baseline are shown.\n"));
    return 0;
}

int cmdExport(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress)
{
    if (!has(p, o.output))
        throw UsageError{QStringLiteral("export needs -o OUT.pt")};
    const QString outPath = p.value(o.output);
    if (!outPath.endsWith(QLatin1String(".pt")) && !outPath.endsWith(QLatin1String(".pth")) && !outPath.endsWith(QLatin1String(".onnx")))
        throw UsageError{QStringLiteral("-o %1: the output must end in .pt or .onnx (OUT.json and OUT.csv are written next to it)").arg(outPath)};
    Setup s = prepare(p, o, c, progress);
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
    const QStringList written = writeExport(outPath, s, measured ? &*measured : nullptr, recipe, channels, r);
    r.insert(QStringLiteral("export"), QJsonObject{{QStringLiteral("model"), written[0]},
                                                   {QStringLiteral("report"), written[1]},
                                                   {QStringLiteral("csv"), written[2]}});
    if (has(p, o.json)) {
        printJson(r);
        return 0;
    }
    if (measured)
        out(report::evaluationText(*s.model, *measured, QStringLiteral("Tuned model (thresholds from %1) on %2").arg(thresholdsFrom, evaluatedOn(s))) +
            QLatin1Char('\n'));
    out(QStringLiteral("Written:\n  %1\n  %2\n  %3\n").arg(written[0], written[1], written[2]));
    return 0;
}

int run(const QStringList &arguments)
{
    if (arguments.size() < 2) {
        err(programHelp());
        return 2;
    }
    const QString name = arguments.at(1);
    if (name == QLatin1String("--help") || name == QLatin1String("-h") || name == QLatin1String("help")) {
        out(programHelp());
        return 0;
    }
    if (name == QLatin1String("--version")) {
        out(QStringLiteral("sparsity-cli %1\n").arg(QCoreApplication::applicationVersion()));
        return 0;
    }
    const Command *command = findCommand(name);
    if (!command) {
        err(QStringLiteral("sparsity-cli: unknown command \"%1\"\n\n").arg(name) + programHelp());
        return 2;
    }
    Options o;
    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption help{{QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help.")};
    parser.addOption(help);
    addOptions(parser, o, name);
    parser.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("TorchScript (.pt) or ONNX (.onnx) model."), QStringLiteral("[MODEL]"));
    if (command->dataArgument > 0)
        parser.addPositionalArgument(QStringLiteral("DATA"), QStringLiteral("Dataset file or folder."), QStringLiteral("[DATA]"));
    QStringList args = arguments;
    args.removeAt(1); // the command
    if (!parser.parse(args)) {
        err(QStringLiteral("sparsity-cli %1: %2\n\n").arg(name, parser.errorText()) + commandHelp(*command, parser));
        return 2;
    }
    if (parser.isSet(help)) {
        out(commandHelp(*command, parser));
        return 0;
    }
    Progress progress(has(parser, o.quiet));
    try {
        setComputeThreads(int(integerOption(parser, o.threads, 1, 0)));
        if (name == QLatin1String("inspect"))
            return cmdInspect(parser, o, *command, progress);
        if (name == QLatin1String("analyze"))
            return cmdAnalyze(parser, o, *command, progress);
        if (name == QLatin1String("search"))
            return cmdSearch(parser, o, *command, progress);
        if (name == QLatin1String("train"))
            return cmdTrain(parser, o, *command, progress);
        if (name == QLatin1String("compare"))
            return cmdCompare(parser, o, *command, progress);
        if (name == QLatin1String("project"))
            return cmdProject(parser, o, *command, progress);
        return cmdExport(parser, o, *command, progress);
    } catch (const UsageError &e) {
        progress.finish();
        err(QStringLiteral("sparsity-cli %1: %2\n\n").arg(name, e.message) + commandHelp(*command, parser));
        return 2;
    } catch (const std::exception &e) {
        progress.finish();
        err(QStringLiteral("sparsity-cli %1: error: %2\n").arg(name, QString::fromUtf8(e.what())));
        return 1;
    }
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("sparsity-cli"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SPARSITY_VERSION));
    std::signal(SIGINT, onInterrupt);
    return run(QCoreApplication::arguments());
}
