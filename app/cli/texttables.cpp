#include "texttables.h"

#include "capture/capture.h"
#include "graph/model.h"
#include "hardware/processorpreset.h"
#include "tune/comparison.h"
#include "tune/thresholdsearch.h"
#include "tune/training.h"

#include <algorithm>
#include <cmath>

namespace sparsity::text {

using report::Projection;
using report::positiveQuantile;
using report::sparsifiableMask;

namespace {

QString q(const char *s) { return QString::fromUtf8(s); }
QString q(const std::string &s) { return QString::fromStdString(s); }

QString withUnit(double value, const char *unit)
{
    if (!std::isfinite(value))
        return q("-");
    static const struct {
        double scale;
        const char *prefix;
    } prefixes[] = {{1.0, ""}, {1e-3, "m"}, {1e-6, "u"}, {1e-9, "n"}, {1e-12, "p"}, {1e-15, "f"}};
    if (value == 0.0)
        return QStringLiteral("0 ") + q(unit);
    for (const auto &p : prefixes)
        if (std::abs(value) >= p.scale)
            return QString::number(value / p.scale, 'f', std::abs(value / p.scale) >= 100 ? 0 : 2) + QLatin1Char(' ') +
                   q(p.prefix) + q(unit);
    return QString::number(value, 'g', 3) + QLatin1Char(' ') + q(unit);
}

} // namespace

void TextTable::addColumn(const QString &header, Align align) { columns_.push_back({header, align}); }

void TextTable::addColumns(const QStringList &headers, Align align)
{
    for (const QString &h : headers)
        addColumn(h, align);
}

void TextTable::addRow(const QStringList &cells)
{
    QStringList row = cells;
    while (row.size() < qsizetype(columns_.size()))
        row.append(QString());
    if (row.isEmpty())
        row.append(QString()); // keep it distinct from a separator
    rows_.push_back(row);
}

void TextTable::addSeparator() { rows_.push_back(QStringList()); }

QString TextTable::render() const
{
    std::vector<qsizetype> width(columns_.size());
    for (std::size_t c = 0; c < columns_.size(); ++c) {
        width[c] = columns_[c].header.size();
        for (const auto &row : rows_)
            if (qsizetype(c) < row.size())
                width[c] = std::max(width[c], row[qsizetype(c)].size());
    }
    qsizetype total = 0;
    for (auto w : width)
        total += w;
    total += 2 * qsizetype(columns_.empty() ? 0 : columns_.size() - 1);
    auto line = [&](const QStringList &cells) -> QString {
        QString out;
        for (std::size_t c = 0; c < columns_.size(); ++c) {
            const QString cell = qsizetype(c) < cells.size() ? cells[qsizetype(c)] : QString();
            const bool last = c + 1 == columns_.size();
            if (columns_[c].align == Align::Right)
                out += cell.rightJustified(width[c]);
            else
                out += last ? cell : cell.leftJustified(width[c]);
            if (!last)
                out += QStringLiteral("  ");
        }
        while (out.endsWith(QLatin1Char(' ')))
            out.chop(1);
        return out + QLatin1Char('\n');
    };
    QStringList headers;
    for (const auto &c : columns_)
        headers.append(c.header);
    QString out = line(headers);
    out += QString(total, QLatin1Char('-')) + QLatin1Char('\n');
    for (const auto &row : rows_)
        out += row.isEmpty() ? QString(total, QLatin1Char('-')) + QLatin1Char('\n') : line(row);
    return out;
}

QString fixed(double value, int decimals)
{
    return std::isfinite(value) ? QString::number(value, 'f', decimals) : q("-");
}

QString count(double value)
{
    if (!std::isfinite(value))
        return q("-");
    const double a = std::abs(value);
    if (a >= 1e9)
        return QString::number(value / 1e9, 'f', 2) + QLatin1Char('G');
    if (a >= 1e6)
        return QString::number(value / 1e6, 'f', 2) + QLatin1Char('M');
    if (a >= 1e4)
        return QString::number(value / 1e3, 'f', 1) + QLatin1Char('k');
    return QString::number(value, 'f', a == std::floor(a) ? 0 : 1);
}

QString seconds(double value) { return withUnit(value, "s"); }
QString joules(double value) { return withUnit(value, "J"); }
QString watts(double value) { return withUnit(value, "W"); }

QString percent(double fraction, int decimals)
{
    return std::isfinite(fraction) ? QString::number(100.0 * fraction, 'f', decimals) + QStringLiteral(" %") : q("-");
}

QString ratio(double value)
{
    return std::isfinite(value) ? QString::number(value, 'f', 2) + QLatin1Char('x') : q("-");
}

QString shape(const std::vector<std::int64_t> &dims)
{
    if (dims.empty())
        return q("?");
    QStringList parts;
    for (auto d : dims)
        parts.append(QString::number(d));
    return parts.join(QLatin1Char('x'));
}

QString progressLine(const QString &label, double fraction, double elapsedSeconds, int barWidth)
{
    fraction = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
    QString out = label;
    if (barWidth > 0) {
        const int filled = int(std::lround(fraction * barWidth));
        out += QStringLiteral(" [") + QString(filled, QLatin1Char('#')) + QString(barWidth - filled, QLatin1Char('.')) +
               QLatin1Char(']');
    }
    out += QStringLiteral(" %1 %  %2 s").arg(int(std::floor(100.0 * fraction)), 3).arg(elapsedSeconds, 0, 'f', 1);
    return out;
}

// ---- The tables of the commands ----

QString inspectText(const Model &model)
{
    const auto &m = model.metadata();
    QString out;
    out += QStringLiteral("Model     %1\n").arg(q(model.path()));
    if (m.present)
        out += QStringLiteral("Name      %1 (%2, %3 classes%4)\n")
                   .arg(q(m.name), q(m.task))
                   .arg(m.classes.size())
                   .arg(m.recordedTop1 >= 0 ? QStringLiteral(", recorded top-1 %1 %").arg(m.recordedTop1, 0, 'f', 2)
                                            : QString());
    else
        out += QStringLiteral("Metadata  none (no sparsity_metadata.json in the archive)\n");
    out += QStringLiteral("Forward   %1\n").arg(q(model.forwardSignature()));
    out += QStringLiteral("Input     %1\n\n").arg(model.inputShape().empty() ? QStringLiteral("unknown (give --input-shape C,H,W)")
                                                                            : shape(model.inputShape()));
    TextTable t;
    t.addColumn(QStringLiteral("#"));
    t.addColumn(QStringLiteral("site"), TextTable::Align::Left);
    t.addColumn(QStringLiteral("op"), TextTable::Align::Left);
    t.addColumn(QStringLiteral("kind"), TextTable::Align::Left);
    t.addColumns({QStringLiteral("shape"), QStringLiteral("elements")});
    t.addColumn(QStringLiteral("consumers"), TextTable::Align::Left);
    t.addColumn(QStringLiteral("MACs"));
    double totalMacs = 0;
    int sparsifiable = 0;
    for (const Site &s : model.sites()) {
        QStringList consumers;
        double macs = 0;
        for (const auto &c : s.consumers) {
            consumers.append(q(c.name.empty() ? c.op : c.name));
            macs += double(c.denseMacs);
        }
        totalMacs += macs;
        sparsifiable += s.sparsifiable ? 1 : 0;
        QString kind = q(activationKindName(s.kind));
        if (!s.sparsifiable && s.kind != ActivationKind::Dense)
            kind += QStringLiteral(" (dense)");
        if (s.inControlFlow)
            kind += QStringLiteral(" (branch)");
        t.addRow({QString::number(s.index), q(s.name), q(s.op), kind, shape(s.shape), count(double(s.elementsPerImage)),
                  consumers.isEmpty() ? QStringLiteral("-") : consumers.join(QStringLiteral(", ")), count(macs)});
    }
    out += t.render();
    double layerMacs = 0;
    for (const auto &l : model.layers())
        layerMacs += double(l.geometry.denseMacs);
    out += QStringLiteral("\n%1 activation sites (%2 sparsifiable), %3 conv/linear layers, %4 MACs per image in all layers\n")
               .arg(model.sites().size())
               .arg(sparsifiable)
               .arg(model.layers().size())
               .arg(count(layerMacs));
    return out;
}

QString evaluationText(const Model &model, const CaptureResult &r, const QString &title)
{
    const auto mask = sparsifiableMask(model);
    QString out = title + QLatin1Char('\n');
    out += QStringLiteral("  images               %1%2\n")
               .arg(r.images)
               .arg(r.skipped ? QStringLiteral(" (%1 unreadable, skipped)").arg(r.skipped) : QString());
    if (r.labelled)
        out += QStringLiteral("  top-1 / top-5        %1 % / %2 %\n").arg(r.top1(), 0, 'f', 2).arg(r.top5(), 0, 'f', 2);
    if (r.segmentation())
        out += QStringLiteral("  pixel acc. / mIoU    %1 % / %2 % (%3 classes, %4 pixels scored)\n")
                   .arg(r.pixelAccuracy(), 0, 'f', 2)
                   .arg(r.meanIoU(), 0, 'f', 2)
                   .arg(r.segmentationClasses)
                   .arg(count(double(r.pixelsScored())));
    out += QStringLiteral("  activation sparsity  %1\n").arg(percent(r.activationSparsity(mask), 2));
    out += QStringLiteral("  nonzeros per image   %1\n").arg(count(r.nonzerosPerImage(mask)));
    out += QStringLiteral("  time                 %1\n").arg(seconds(r.seconds));
    return out;
}

QString siteStatsText(const Model &model, const CaptureResult &r, const std::vector<float> &thresholds)
{
    TextTable t;
    t.addColumn(QStringLiteral("#"));
    t.addColumn(QStringLiteral("site"), TextTable::Align::Left);
    t.addColumns({QStringLiteral("shape"), QStringLiteral("threshold"), QStringLiteral("sparsity"),
                  QStringLiteral("nonzeros/img"), QStringLiteral("mean"), QStringLiteral("median>0"),
                  QStringLiteral("p99>0"), QStringLiteral("max")});
    for (const Site &s : model.sites()) {
        const SiteStats &st = r.sites.at(std::size_t(s.index));
        if (st.images == 0) {
            t.addRow({QString::number(s.index), q(s.name), shape(s.shape), QString(), QStringLiteral("not executed")});
            continue;
        }
        t.addRow({QString::number(s.index), q(s.name) + (s.sparsifiable ? QString() : QStringLiteral(" (dense)")),
                  shape(s.shape), s.sparsifiable ? fixed(thresholds.at(std::size_t(s.index)), 4) : QStringLiteral("-"),
                  percent(st.sparsity()), count(st.nonzerosPerImage()), fixed(st.mean(), 4),
                  fixed(positiveQuantile(st, 0.5), 4), fixed(positiveQuantile(st, 0.99), 4), fixed(st.max, 3)});
    }
    return t.render();
}

QString projectionText(const Projection &p)
{
    QString out = QStringLiteral("Processor  %1 (%2%3)\n")
                      .arg(q(p.params.name), q(mappingName(p.params.mapping)),
                           p.params.skipsZeros ? QStringLiteral(", skips zeros") : QStringLiteral(", dense"));
    out += QStringLiteral("Mapping    %1\n\n").arg(q(p.baseline.mappingNote));
    TextTable layers;
    layers.addColumn(QStringLiteral("layer"), TextTable::Align::Left);
    layers.addColumn(QStringLiteral("kind"), TextTable::Align::Left);
    layers.addColumn(QStringLiteral("source"), TextTable::Align::Left);
    layers.addColumns({QStringLiteral("dense synops"), QStringLiteral("base density"), QStringLiteral("base synops"),
                       QStringLiteral("base cycles")});
    if (p.hasTuned) {
        layers.addColumns({QStringLiteral("tuned density"), QStringLiteral("tuned synops"),
                           QStringLiteral("tuned cycles"), QStringLiteral("speed-up")});
    }
    for (std::size_t i = 0; i < p.baselineWorkload.layers.size(); ++i) {
        const auto &b = p.baselineWorkload.layers[i];
        QStringList row{q(b.name), q(layerKindName(b.kind)), q(opsSourceName(b.source)), count(b.denseSynops),
                        percent(b.density), count(b.synops), count(p.baseline.layers[i].cycles)};
        if (p.hasTuned) {
            const auto &t = p.tunedWorkload.layers[i];
            row << percent(t.density) << count(t.synops) << count(p.tuned.layers[i].cycles)
                << ratio(p.tunedVsBaseline.layers[i].latencyRatio);
        }
        layers.addRow(row);
    }
    out += layers.render() + QLatin1Char('\n');

    TextTable totals;
    totals.addColumn(QStringLiteral("per frame"), TextTable::Align::Left);
    totals.addColumns({QStringLiteral("dense"), QStringLiteral("baseline")});
    if (p.hasTuned) {
        totals.addColumns({QStringLiteral("tuned"), QStringLiteral("tuned vs baseline")});
    }
    auto row = [&](const QString &name, double d, double b, double t, double r, QString (*fmt)(double)) {
        QStringList cells{name, fmt(d), fmt(b)};
        if (p.hasTuned)
            cells << fmt(t) << ratio(r);
        totals.addRow(cells);
    };
    const Evaluation &t = p.hasTuned ? p.tuned : p.baseline;
    const Comparison &c = p.tunedVsBaseline;
    row(QStringLiteral("events"), p.dense.events, p.baseline.events, t.events, c.eventRatio, count);
    row(QStringLiteral("synaptic operations"), p.dense.synops, p.baseline.synops, t.synops, c.synopRatio, count);
    row(QStringLiteral("latency"), p.dense.latencySeconds, p.baseline.latencySeconds, t.latencySeconds, c.latencyRatio, seconds);
    row(QStringLiteral("frames per second"), p.dense.fps, p.baseline.fps, t.fps, c.fpsRatio,
        [](double v) { return fixed(v, 0); });
    row(QStringLiteral("energy per frame"), p.dense.energyPerFrameJ, p.baseline.energyPerFrameJ, t.energyPerFrameJ,
        c.energyRatio, joules);
    row(QStringLiteral("average power"), p.dense.averagePowerW, p.baseline.averagePowerW, t.averagePowerW,
        std::nan(""), watts);
    out += totals.render();
    out += QStringLiteral("\nBaseline vs dense: %1 lower latency, %2 lower energy per frame. Ratios are model projections, "
                          "not measurements (docs/processor-model.md).\n")
               .arg(ratio(p.baselineVsDense.latencyRatio), ratio(p.baselineVsDense.energyRatio));
    return out;
}

QString trainingText(const Model &model, const TrainingResult &r, const std::vector<EpochReport> &epochs)
{
    TextTable t;
    t.addColumn(QStringLiteral("epoch"));
    t.addColumn(QStringLiteral("phase"), TextTable::Align::Left);
    t.addColumns({QStringLiteral("val top-1"), QStringLiteral("val sparsity"), QStringLiteral("time")});
    for (const auto &e : epochs)
        t.addRow({QString::number(e.epoch + 1), q(e.phase), fixed(e.validationTop1, 2) + QStringLiteral(" %"),
                  percent(e.validationSparsity, 2), seconds(e.seconds)});
    QString out = t.render();
    out += QStringLiteral("\n%1 epochs done in %2%3\n")
               .arg(r.epochsDone)
               .arg(seconds(r.seconds))
               .arg(r.cancelled ? QStringLiteral(" (cancelled; continue with --resume)") : QString());
    TextTable s;
    s.addColumn(QStringLiteral("#"));
    s.addColumn(QStringLiteral("site"), TextTable::Align::Left);
    s.addColumns({QStringLiteral("band"), QStringLiteral("threshold")});
    const auto thresholds = r.thresholds.empty() ? model.thresholds() : r.thresholds;
    for (const Site &site : model.sites())
        if (site.sparsifiable) {
            const auto i = std::size_t(site.index);
            const bool perChannel = i < r.channelThresholds.size() && !r.channelThresholds[i].empty();
            s.addRow({QString::number(site.index), q(site.name),
                      i < r.bands.size() && r.bands[i] > 0 ? fixed(r.bands[i], 4) : QStringLiteral("-"),
                      fixed(thresholds.at(i), 4) +
                          (perChannel ? QStringLiteral(" (mean of %1 per channel)").arg(r.channelThresholds[i].size()) : QString())});
        }
    return out + QLatin1Char('\n') + s.render();
}

QString methodComparisonText(const MethodComparison &c, bool perSite)
{
    TextTable t;
    t.addColumn(QStringLiteral("method"), TextTable::Align::Left);
    t.addColumns({QStringLiteral("top-1"), QStringLiteral("vs ReLU"), QStringLiteral("sparsity"),
                  QStringLiteral("nonzeros/img"), QStringLiteral("removed vs ReLU"), QStringLiteral("train time")});
    for (const auto &m : c.methods)
        t.addRow({q(methodName(m.method)), fixed(m.top1, 2) + QStringLiteral(" %"),
                  std::isfinite(m.top1DeltaPp) ? QString::number(m.top1DeltaPp, 'f', 2) + QStringLiteral(" pp") : q("-"),
                  percent(m.activationSparsity, 2), count(m.nonzerosPerImage), percent(m.removedVsRelu),
                  seconds(m.training.seconds)});
    QString out = QStringLiteral("%1 epochs per method, evaluated on %2 images\n\n").arg(c.epochs).arg(c.evaluationImages);
    out += t.render();
    if (perSite && !c.methods.empty()) {
        TextTable s;
        s.addColumn(QStringLiteral("site"), TextTable::Align::Left);
        for (const auto &m : c.methods)
            s.addColumn(q(methodName(m.method)));
        for (std::size_t i = 0; i < c.siteNames.size(); ++i) {
            if (!c.sparsifiable[i])
                continue;
            QStringList row{q(c.siteNames[i])};
            for (const auto &m : c.methods)
                row << (i < m.siteSparsity.size() ? percent(m.siteSparsity[i]) : q("-"));
            s.addRow(row);
        }
        out += QStringLiteral("\nSparsity per site\n") + s.render();
    }
    if (c.cancelled)
        out += QStringLiteral("\nCancelled: only the methods above finished.\n");
    return out;
}

QString searchText(const Model &model, const SearchResult &r, const std::vector<float> &before)
{
    QString out = QStringLiteral("Calibration top-1 %1 % -> %2 %, sparsity of searched sites %3 -> %4, %5 evaluations, %6\n\n")
                      .arg(r.startTop1, 0, 'f', 2)
                      .arg(r.finalTop1, 0, 'f', 2)
                      .arg(percent(r.startSparsity), percent(r.finalSparsity))
                      .arg(r.evaluations)
                      .arg(seconds(r.seconds));
    TextTable t;
    t.addColumn(QStringLiteral("#"));
    t.addColumn(QStringLiteral("site"), TextTable::Align::Left);
    t.addColumns({QStringLiteral("before"), QStringLiteral("threshold")});
    for (const Site &s : model.sites())
        if (s.sparsifiable)
        {
            const auto i = std::size_t(s.index);
            const bool perChannel = i < r.channelThresholds.size() && !r.channelThresholds[i].empty();
            // A per-channel search has a scale for the sites it searched; other sites may keep per-channel
            // thresholds they had (a scoped search), without one.
            const bool scaled = i < r.scales.size() && r.scales[i] > 0.0f;
            QString detail;
            if (perChannel)
                detail = scaled ? QStringLiteral(" (mean of %1 per channel, scale %2)")
                                      .arg(r.channelThresholds[i].size())
                                      .arg(double(r.scales[i]), 0, 'f', 3)
                                : QStringLiteral(" (%1 per-channel thresholds apply)").arg(r.channelThresholds[i].size());
            t.addRow({QString::number(s.index), q(s.name), fixed(before.at(i), 4), fixed(r.thresholds.at(i), 4) + detail});
        }
    return out + t.render();
}

QString sweepText(const SweepResult &r, const QString &processor, const QString &title)
{
    const bool search = r.rule == SweepOptions::Rule::Search;
    QString out = QStringLiteral("%1 (%2 s). Projection: %3. * = on the front (no point keeps more top-1 with fewer "
                                 "nonzeros).\n\n")
                      .arg(title)
                      .arg(r.seconds, 0, 'f', 1)
                      .arg(processor);
    TextTable t;
    t.addColumn(search ? QStringLiteral("budget (pp)") : QStringLiteral("target"));
    t.addColumns({QStringLiteral("top-1"), QStringLiteral("change (pp)"), QStringLiteral("sparsity"),
                  QStringLiteral("nonzeros/image"), QStringLiteral("removed"), QStringLiteral("latency"),
                  QStringLiteral("energy/frame"), QStringLiteral("front")});
    const auto row = [&](const QString &label, const SweepPoint &p, const QString &front) {
        const double removed = r.baseline.nonzerosPerImage > 0.0 ? 1.0 - p.nonzerosPerImage / r.baseline.nonzerosPerImage : 0.0;
        t.addRow({label, fixed(p.score, 2), fixed(p.score - r.baseline.score, 2), percent(p.sparsity),
                  count(p.nonzerosPerImage), percent(removed), p.latencySeconds ? seconds(*p.latencySeconds) : QStringLiteral("-"),
                  p.energyPerFrameJ ? joules(*p.energyPerFrameJ) : QStringLiteral("-"), front});
    };
    row(QStringLiteral("ReLU (0)"), r.baseline, QString());
    t.addSeparator();
    for (const SweepPoint &p : r.points)
        row(search ? fixed(p.value, 2) : percent(p.value), p, p.pareto ? QStringLiteral("*") : QString());
    return out + t.render();
}

} // namespace sparsity::text
