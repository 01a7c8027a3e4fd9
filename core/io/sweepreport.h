#pragma once
// A sweep (core/tune/sweep.h) as the CLI's JSON report section and as CSV, the same for sparsity-cli sweep and
// the explorer's Sweep view.

#include "tune/sweep.h"

#include <QJsonObject>
#include <QString>

namespace sparsity {
class Model;
namespace report {

// {"rule", "values", "calibration_images", "evaluation_images", "seconds", "cancelled", "baseline": point,
//  "points": [point]}; a point: value, top1, top1_change_pp, sparsity, nonzeros_per_image, removed_vs_baseline,
// latency_s / energy_j / fps (null without a processor), pareto, thresholds {site: t}, channel_thresholds.
QJsonObject sweepJson(const Model &model, const SweepResult &result);
// One row per point after a header, numbers only: value, top1, top1_change_pp, sparsity, nonzeros_per_image,
// removed_vs_baseline, latency_s, energy_j, fps, pareto. Empty cells where there is no processor.
QString sweepCsv(const SweepResult &result);

} // namespace report
} // namespace sparsity
