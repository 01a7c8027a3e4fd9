#pragma once

// sparsity-cli's commands and options: the table of commands, every option, help texts and parsed values.
#include "data/dataset.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QString>

#include <cstdint>
#include <vector>

namespace sparsity::cli {

// A wrong command line: printed with the command's help, exit code 2.
struct UsageError {
    QString message;
};

struct Command {
    const char *name;
    const char *synopsis;
    const char *summary;
    int dataArgument; // 0: no DATA, 1: DATA optional, 2: DATA required (with MODEL)
};

const Command *findCommand(const QString &name);
QString programHelp();

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
    QCommandLineOption noEvaluate{QStringLiteral("no-evaluate"), QStringLiteral("Do not measure accuracy and sparsity (export: without data; train: no evaluation after training, as the explorer's worker processes run it).")};
    QCommandLineOption budgets{QStringLiteral("budgets"), QStringLiteral("Sweep: top-1 budgets in pp, comma separated; each point is a threshold search (default 0.25,0.5,1,2)."), QStringLiteral("LIST")};
    QCommandLineOption targets{QStringLiteral("targets"), QStringLiteral("Sweep: target sparsities (0 to <1), comma separated; each point is the quantile rule per site instead of a search."), QStringLiteral("LIST")};
    QCommandLineOption csv{QStringLiteral("csv"), QStringLiteral("Also write the points as CSV to FILE."), QStringLiteral("FILE")};
    QCommandLineOption nproc{QStringLiteral("nproc"), QStringLiteral("Run as N processes on this machine (ranks of a c10d/Gloo group on 127.0.0.1; docs/distributed.md). Under torchrun, Slurm or mpirun give nothing: RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT are read from the environment."), QStringLiteral("N")};
    QCommandLineOption perSite{QStringLiteral("per-site"), QStringLiteral("Also print the per-site sparsity table.")};
};

// Registers the options `command` takes; has() treats the others as not set.
void addOptions(QCommandLineParser &p, const Options &o, const QString &command);
bool has(const QCommandLineParser &p, const QCommandLineOption &o);
QString commandHelp(const Command &c, QCommandLineParser &parser);

// Parsed values; each throws UsageError naming the option and what it needs.
qint64 integerOption(const QCommandLineParser &p, const QCommandLineOption &o, qint64 min, qint64 fallback);
double numberOption(const QCommandLineParser &p, const QCommandLineOption &o, double min, double max, double fallback);
std::vector<std::int64_t> inputShapeOption(const QCommandLineParser &p, const Options &o);
Split parseSplit(const QString &s);

} // namespace sparsity::cli
