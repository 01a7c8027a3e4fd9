#pragma once

#include "io/outputpaths.h"

#include <QJsonObject>
#include <QString>

#include <vector>

namespace sparsity {

class Model;
struct CaptureResult;

// The three files of an export: OUT.pt (thresholded TorchScript) or OUT.onnx (thresholded ONNX), OUT.json (the
// report) and OUT.csv (per site).
struct ExportPaths {
    QString model, report, csv; // absolute
};

// The paths for `outPath`. Throws sparsity::Error when it does not end in .pt/.pth, or when any of the three is
// one of `inputs` (by canonical path, checkOutputPaths) or a symlink.
ExportPaths exportPaths(const QString &outPath, const std::vector<RolePath> &inputs);

// What goes into the bundle besides the model itself.
struct ExportContent {
    std::vector<float> thresholds;  // per site, as the model runs them
    QJsonObject channelThresholds;  // by site name, only sites with per-channel values
    QJsonObject recipe;             // the training recipe, empty when untrained
    const CaptureResult *measured = nullptr; // a capture of exactly this model and these thresholds, else null
    QJsonObject measuredOn;         // report::datasetJson of the data `measured` ran on
    QJsonObject report;             // the report so far; the bundle adds "export" with the three paths
    std::vector<RolePath> inputs;   // every file the caller read besides the model (dataset, thresholds, project...)
};

// Writes the bundle for `outPath` (exportPaths) from `model`, whose thresholds must already be set: OUT.pt with the
// tuning record in its metadata first, then OUT.json and OUT.csv, each atomically. Never writes over the input model
// nor any of `content.inputs`.
// Returns the paths; throws sparsity::Error naming the file on failure.
ExportPaths writeExportBundle(const QString &outPath, Model &model, const ExportContent &content);

} // namespace sparsity
