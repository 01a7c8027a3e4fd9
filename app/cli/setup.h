#pragma once

// What every command does first: open the workspace (core/io/workspace.h) from MODEL/DATA or --project, apply
// thresholds, run a capture with progress, and the shared pieces of reports and exports.
#include "capture/capture.h"
#include "io/outputpaths.h"
#include "io/project.h"
#include "io/report.h"
#include "options.h"
#include "progress.h"
#include "tune/recipe.h"
#include "tune/training.h"

#include <QJsonObject>
#include <QStringList>

#include <memory>
#include <vector>

namespace sparsity {
class Dataset;
class Model;
}

namespace sparsity::cli {

// Everything a command works on: the model, the data, the subset and the preprocessing.
struct Setup {
    Project project;   // from --project, the sample project, or the command line
    bool fromProject = false; // sample or --project: their subset and thresholds apply
    std::shared_ptr<Model> model;
    std::shared_ptr<Dataset> data;
    Preprocessing preprocessing;
    std::vector<std::size_t> indices;
    report::DatasetInfo info;
    std::size_t batchSize = 64;
};

// Resolves MODEL/DATA/--project and opens them.
Setup prepare(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress);
// A fresh copy of the model file for one method of a comparison; keeps an input shape the model declares.
std::shared_ptr<Model> loadModel(const QString &path, const Preprocessing *preprocessing);
// The thresholds a command should apply: --thresholds FILE, else those of the project (if any). Returns a
// description of where they came from, empty when none (all zero).
QString applyThresholdsFrom(const QCommandLineParser &p, const Options &o, Setup &s, QJsonObject *channelJson = nullptr);
// The last `count` images of the dataset's training split (as in training), so they are held out from an
// evaluation subset of the test split; warns when the subset is on the training split too.
std::vector<Batch> calibrationBatches(const Setup &s, std::size_t count, Progress &progress);
// A capture of the subset; throws when cancelled (Ctrl-C), warns about skipped images.
CaptureResult runCapture(Setup &s, Progress &progress, const QString &label, bool stats = true);
QJsonObject baseReport(const QString &command, const Setup &s);
void printJson(const QJsonObject &r);
QString evaluatedOn(const Setup &s);
// --recipe, else the project's recipe, else the defaults of --method; with the command line's overrides.
Recipe recipeFrom(const QCommandLineParser &p, const Options &o, const Setup &s);
TrainingCallbacks trainingCallbacks(Progress &progress, std::vector<EpochReport> *epochs, const QString *prefixPtr);
// The export bundle (core/io/exportbundle.h) of the model as it runs now; `reportJson` is the report so far.
// Every file the command reads (model, dataset, weights, --thresholds, --recipe, --project): what no output may be.
std::vector<RolePath> inputFiles(const QCommandLineParser &p, const Options &o, const Setup &s);
QStringList writeExport(const QString &outPath, const Setup &s, const std::vector<RolePath> &inputs,
                        const CaptureResult *measured, const QJsonObject &recipe,
                        const QJsonObject &channelThresholds, QJsonObject reportJson);

} // namespace sparsity::cli
