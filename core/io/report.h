#pragma once

// What both programs write: the JSON report (schema "sparsity-explorer/cli-report", docs/report-schema.md), the
// per-site CSV, the processor projection and the metadata embedded in an exported model. Plain data in, JSON out;
// no torch. The CLI's text tables are in app/cli/texttables.h.

#include "hardware/processor.h"
#include "hardware/workload.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <cstddef>
#include <string>
#include <vector>

namespace sparsity {

class Model;
class Dataset;
struct CaptureResult;
struct SearchResult;
struct SiteStats;
struct MethodComparison;
struct TrainingResult;
struct EpochReport;

namespace report {

inline constexpr const char *kReportSchema = "sparsity-explorer/cli-report";
inline constexpr int kReportVersion = 1;

// ---- JSON report ------------------------------------------------------------------------------------------------

// The fields every report starts with: schema, version, command, program.
QJsonObject header(const QString &command);

// Per site: whether it can be tuned (a ReLU-like site) rather than only measured.
std::vector<bool> sparsifiableMask(const Model &model);
// The value below which `fraction` of a site's positive activations lie (NaN when it saw none).
double positiveQuantile(const SiteStats &stats, double fraction);

QJsonObject modelJson(const Model &model);          // path, name, signature, input shape, metadata, counts
QJsonArray sitesJson(const Model &model);           // every site: kind, shape, consumers, MACs
QJsonArray layersJson(const Model &model);          // conv/linear layers in execution order

struct DatasetInfo {
    std::string path;
    std::string split;      // "test" or "train"
    std::string format;
    std::string description;
    std::size_t size = 0;   // images in the split
    std::string subsetMode; // "first", "random", "stratified"
    std::size_t subsetCount = 0;
    std::uint64_t seed = 0;
};
QJsonObject datasetJson(const DatasetInfo &info);

// Accuracy and totals of one capture (top1/top5 are null when the data is unlabelled).
QJsonObject evaluationJson(const Model &model, const CaptureResult &capture);
// Per-site measured statistics; histograms as the nonzero bins of each site's log histogram.
QJsonArray siteStatsJson(const Model &model, const CaptureResult &capture, bool histograms);
QJsonArray perClassJson(const std::vector<std::string> &classNames, const CaptureResult &capture);

// Thresholds by site name (sparsifiable sites).
QJsonObject thresholdsJson(const Model &model, const std::vector<float> &thresholds);
// Per-channel thresholds by site name (sites with per-channel values only): {"layer1.relu": [t_0, t_1, ...]}.
QJsonObject channelThresholdsJson(const Model &model, const std::vector<std::vector<float>> &channels);

QJsonObject searchJson(const SearchResult &result, double budgetPp, std::size_t calibrationImages);

// Training: the result, the per-epoch validation reports in order, the thresholds by site name.
QJsonObject trainingJson(const Model &model, const TrainingResult &result, const std::vector<EpochReport> &epochs,
                         const QJsonObject &recipe, const QString &checkpointDir);
QJsonObject methodComparisonJson(const MethodComparison &comparison);

// Finds a processor preset by built-in name (file name without ".json", e.g. "neuronflow-28nm") or by file path.
// Throws sparsity::Error listing the built-in names when there is neither.
ProcessorParams findPreset(const QString &nameOrFile);

// ---- Processor projection ---------------------------------------------------------------------------------------

// Dense reference, ReLU baseline (measured with the model's original thresholds) and, when tuned statistics are
// given, the tuned model, all on one machine.
struct Projection {
    ProcessorParams params;
    Workload denseWorkload, baselineWorkload, tunedWorkload;
    Evaluation dense, baseline, tuned;
    bool hasTuned = false;
    Comparison baselineVsDense, tunedVsBaseline, tunedVsDense;
};

// Throws sparsity::Error when the statistics do not belong to the model.
Projection project(const ProcessorParams &params, const Model &model, const std::vector<SiteStats> &baseline,
                   const std::vector<SiteStats> *tuned);
QJsonObject projectionJson(const Projection &projection);

// ---- Files ----------------------------------------------------------------------------------------------------

// One row per site: index, name, op, kind, sparsifiable, threshold, and (when `capture` is given) images, elements
// per image, sparsity, nonzeros per image, mean, max. RFC 4180 quoting.
QString perSiteCsv(const Model &model, const std::vector<float> &thresholds, const CaptureResult *capture);

// The `sparsity_metadata.json` of an exported model: the input model's metadata (so the exported model keeps its
// preprocessing and classes) plus a "tuning" object with the thresholds, the recipe (if any), and the measured
// accuracy and sparsity (if measured). `measured` may be null.
std::string exportMetadata(const Model &model, const std::vector<float> &thresholds, const QJsonObject &channelThresholds,
                           const QJsonObject &recipe, const CaptureResult *measured, const QJsonObject &measuredOn);

} // namespace report
} // namespace sparsity
