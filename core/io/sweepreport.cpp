#include "io/sweepreport.h"

#include "io/report.h"

#include <QJsonArray>

namespace sparsity::report {

namespace {

double removed(const SweepPoint &p, const SweepResult &r)
{
    return r.baseline.nonzerosPerImage > 0.0 ? 1.0 - p.nonzerosPerImage / r.baseline.nonzerosPerImage : 0.0;
}

QJsonValue optional(const std::optional<double> &v)
{
    return v ? QJsonValue(*v) : QJsonValue();
}

QJsonObject pointJson(const Model &model, const SweepPoint &p, const SweepResult &r)
{
    return {{QStringLiteral("value"), p.value},
            {QStringLiteral("top1"), p.score},
            {QStringLiteral("top1_change_pp"), p.score - r.baseline.score},
            {QStringLiteral("sparsity"), p.sparsity},
            {QStringLiteral("nonzeros_per_image"), p.nonzerosPerImage},
            {QStringLiteral("removed_vs_baseline"), removed(p, r)},
            {QStringLiteral("latency_s"), optional(p.latencySeconds)},
            {QStringLiteral("energy_j"), optional(p.energyPerFrameJ)},
            {QStringLiteral("fps"), optional(p.fps)},
            {QStringLiteral("pareto"), p.pareto},
            {QStringLiteral("thresholds"), thresholdsJson(model, p.thresholds.scalar)},
            {QStringLiteral("channel_thresholds"), channelThresholdsJson(model, p.thresholds.perChannel)}};
}

QString cell(const std::optional<double> &v)
{
    return v ? QString::number(*v, 'g', 8) : QString();
}

} // namespace

QJsonObject sweepJson(const Model &model, const SweepResult &result)
{
    QJsonArray values, points;
    for (double v : result.values)
        values.append(v);
    for (const SweepPoint &p : result.points)
        points.append(pointJson(model, p, result));
    return {{QStringLiteral("rule"), QString::fromUtf8(sweepRuleName(result.rule))},
            {QStringLiteral("values"), values},
            {QStringLiteral("calibration_images"), double(result.calibrationImages)},
            {QStringLiteral("evaluation_images"), double(result.evaluationImages)},
            {QStringLiteral("seconds"), result.seconds},
            {QStringLiteral("cancelled"), result.cancelled},
            {QStringLiteral("baseline"), pointJson(model, result.baseline, result)},
            {QStringLiteral("points"), points}};
}

QString sweepCsv(const SweepResult &result)
{
    QString csv = QStringLiteral("%1,top1,top1_change_pp,sparsity,nonzeros_per_image,removed_vs_baseline,latency_s,"
                                 "energy_j,fps,pareto\n")
                      .arg(result.rule == SweepOptions::Rule::Search ? QStringLiteral("budget_pp") : QStringLiteral("target_sparsity"));
    for (const SweepPoint &p : result.points)
        csv += QStringLiteral("%1,%2,%3,%4,%5,%6,%7,%8,%9,%10\n")
                   .arg(QString::number(p.value, 'g', 8), QString::number(p.score, 'f', 4),
                        QString::number(p.score - result.baseline.score, 'f', 4), QString::number(p.sparsity, 'f', 6),
                        QString::number(p.nonzerosPerImage, 'f', 2), QString::number(removed(p, result), 'f', 6),
                        cell(p.latencySeconds), cell(p.energyPerFrameJ), cell(p.fps))
                   .arg(p.pareto ? 1 : 0);
    return csv;
}

} // namespace sparsity::report
