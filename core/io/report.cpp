#include "io/report.h"

#include "capture/capture.h"
#include "tune/comparison.h"
#include "hardware/processorpreset.h"
#include "tune/training.h"
#include "error.h"
#include "graph/model.h"
#include "tune/thresholdsearch.h"

#include <QByteArray>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSaveFile>

#include <algorithm>
#include <cmath>

namespace sparsity {
namespace report {

namespace {

QString q(const char *s) { return QString::fromUtf8(s); }
QString q(const std::string &s) { return QString::fromStdString(s); }

QJsonArray intArray(const std::vector<std::int64_t> &v)
{
    QJsonArray a;
    for (auto x : v)
        a.append(double(x));
    return a;
}

// JSON has no NaN or infinity: those become null.
QJsonValue number(double v) { return std::isfinite(v) ? QJsonValue(v) : QJsonValue(QJsonValue::Null); }

std::vector<bool> sparsifiableMask(const Model &model)
{
    std::vector<bool> mask;
    for (const Site &s : model.sites())
        mask.push_back(s.sparsifiable);
    return mask;
}

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

QJsonObject histogramJson(const LogHistogram &h)
{
    QJsonArray bins;
    for (int b = 0; b < LogHistogram::kBinCount; ++b)
        if (h.count(b) > 0)
            bins.append(QJsonObject{{q("bin"), b},
                                    {q("lower"), LogHistogram::lowerEdge(b)},
                                    {q("upper"), number(LogHistogram::upperEdge(b))},
                                    {q("count"), double(h.count(b))}});
    return QJsonObject{{q("bins_per_octave"), LogHistogram::kBinsPerOctave},
                       {q("min_exponent"), LogHistogram::kMinExponent},
                       {q("max_exponent"), LogHistogram::kMaxExponent},
                       {q("total"), double(h.total())},
                       {q("bins"), bins}};
}

double positiveQuantile(const SiteStats &s, double fraction)
{
    const auto total = s.positive.total();
    // Interpolation inside the top bin can pass the largest value seen; no quantile is above the maximum.
    return total ? std::min(s.positive.quantileValue(fraction * double(total)), double(s.max)) : std::nan("");
}

QJsonObject costJson(const LayerCost &c)
{
    return QJsonObject{{q("name"), q(c.name)},
                       {q("cores_needed"), c.coresNeeded},
                       {q("cores_assigned"), c.coresAssigned},
                       {q("events"), c.events},
                       {q("synops"), c.synops},
                       {q("neuron_updates"), c.neuronUpdates},
                       {q("cycles"), c.cycles},
                       {q("latency_cycles"), c.latencyCycles},
                       {q("dynamic_energy_j"), c.energy.dynamic()}};
}

QJsonObject processorEvaluationJson(const Evaluation &e)
{
    QJsonArray layers;
    for (const auto &c : e.layers)
        layers.append(costJson(c));
    return QJsonObject{{q("events"), e.events},
                       {q("synops"), e.synops},
                       {q("neuron_updates"), e.neuronUpdates},
                       {q("latency_s"), e.latencySeconds},
                       {q("period_s"), e.periodSeconds},
                       {q("fps"), number(e.fps)},
                       {q("energy_per_frame_j"), e.energyPerFrameJ},
                       {q("average_power_w"), e.averagePowerW},
                       {q("cores_needed"), e.coresNeeded},
                       {q("cores_used"), e.coresUsed},
                       {q("partitions"), e.partitions},
                       {q("time_multiplexed"), e.timeMultiplexed},
                       {q("mapping_note"), q(e.mappingNote)},
                       {q("layers"), layers}};
}

QJsonObject comparisonJson(const Comparison &c)
{
    return QJsonObject{{q("latency_ratio"), number(c.latencyRatio)}, {q("fps_ratio"), number(c.fpsRatio)},
                       {q("energy_ratio"), number(c.energyRatio)},   {q("event_ratio"), number(c.eventRatio)},
                       {q("synop_ratio"), number(c.synopRatio)}};
}

} // namespace

// ---- Text tables ----

void TextTable::addColumn(const QString &header, Align align) { columns_.push_back({header, align}); }

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

// ---- JSON ----

QJsonObject header(const QString &command)
{
    return QJsonObject{{q("schema"), q(kReportSchema)},
                       {q("version"), kReportVersion},
                       {q("command"), command},
                       {q("program"), QJsonObject{{q("name"), q("sparsity-cli")},
                                                  {q("version"), QCoreApplication::applicationVersion()}}}};
}

QJsonObject modelJson(const Model &model)
{
    const auto &m = model.metadata();
    int sparsifiable = 0;
    for (const Site &s : model.sites())
        sparsifiable += s.sparsifiable ? 1 : 0;
    QJsonValue metadata = QJsonValue::Null;
    if (m.present)
        metadata = QJsonDocument::fromJson(QByteArray::fromStdString(m.json)).object();
    return QJsonObject{{q("path"), q(model.path())},
                       {q("name"), q(m.name.empty() ? QFileInfo(q(model.path())).completeBaseName().toStdString() : m.name)},
                       {q("forward_signature"), q(model.forwardSignature())},
                       {q("input_shape"), intArray(model.inputShape())},
                       {q("site_count"), int(model.sites().size())},
                       {q("sparsifiable_site_count"), sparsifiable},
                       {q("layer_count"), int(model.layers().size())},
                       {q("metadata"), metadata}};
}

QJsonArray sitesJson(const Model &model)
{
    QJsonArray out;
    for (const Site &s : model.sites()) {
        QJsonArray consumers;
        double macs = 0;
        for (const auto &c : s.consumers) {
            consumers.append(QJsonObject{{q("name"), q(c.name)},
                                         {q("kind"), q(layerKindName(c.kind))},
                                         {q("op"), q(c.op)},
                                         {q("kernel"), QJsonArray{c.kernelH, c.kernelW}},
                                         {q("stride"), QJsonArray{c.strideH, c.strideW}},
                                         {q("groups"), c.groups},
                                         {q("output_shape"), intArray(c.outputShape)},
                                         {q("dense_macs"), double(c.denseMacs)}});
            macs += double(c.denseMacs);
        }
        out.append(QJsonObject{{q("index"), s.index},
                               {q("name"), q(s.name)},
                               {q("op"), q(s.op)},
                               {q("kind"), q(activationKindName(s.kind))},
                               {q("sparsifiable"), s.sparsifiable},
                               {q("dense_reason"), q(s.denseReason)},
                               {q("shape"), intArray(s.shape)},
                               {q("elements_per_image"), double(s.elementsPerImage)},
                               {q("depth"), s.depth},
                               {q("in_control_flow"), s.inControlFlow},
                               {q("baked_threshold"), s.bakedThreshold},
                               {q("consumer_macs"), macs},
                               {q("consumers"), consumers}});
    }
    return out;
}

QJsonArray layersJson(const Model &model)
{
    QJsonArray out;
    const auto &sites = model.sites();
    for (const auto &l : model.layers()) {
        const auto &g = l.geometry;
        out.append(QJsonObject{
            {q("name"), q(g.name)},
            {q("kind"), q(layerKindName(g.kind))},
            {q("input_site"), l.inputSite >= 0 ? QJsonValue(q(sites[std::size_t(l.inputSite)].name)) : QJsonValue()},
            {q("input_shape"), intArray(g.inputShape)},
            {q("output_shape"), intArray(g.outputShape)},
            {q("dense_macs"), double(g.denseMacs)}});
    }
    return out;
}

QJsonObject datasetJson(const DatasetInfo &i)
{
    return QJsonObject{{q("path"), q(i.path)},
                       {q("split"), q(i.split)},
                       {q("format"), q(i.format)},
                       {q("description"), q(i.description)},
                       {q("size"), double(i.size)},
                       {q("subset"), QJsonObject{{q("mode"), q(i.subsetMode)},
                                                 {q("count"), double(i.subsetCount)},
                                                 {q("seed"), double(i.seed)}}}};
}

QJsonObject evaluationJson(const Model &model, const CaptureResult &r)
{
    const auto mask = sparsifiableMask(model);
    QJsonObject segmentation;
    if (r.segmentation()) {
        QJsonArray iou;
        for (double v : r.classIoU())
            iou.append(std::isnan(v) ? QJsonValue() : QJsonValue(100.0 * v));
        segmentation = QJsonObject{{q("classes"), r.segmentationClasses},
                                   {q("pixels"), double(r.pixelsScored())},
                                   {q("pixel_accuracy"), r.pixelAccuracy()},
                                   {q("mean_iou"), r.meanIoU()},
                                   {q("class_iou"), iou}};
    }
    return QJsonObject{{q("images"), double(r.images)},
                       {q("segmentation"), r.segmentation() ? QJsonValue(segmentation) : QJsonValue()},
                       {q("labelled"), r.labelled},
                       {q("top1"), r.labelled ? QJsonValue(r.top1()) : QJsonValue()},
                       {q("top5"), r.labelled ? QJsonValue(r.top5()) : QJsonValue()},
                       {q("activation_sparsity"), r.activationSparsity(mask)},
                       {q("nonzeros_per_image"), r.nonzerosPerImage(mask)},
                       {q("skipped_images"), double(r.skipped)},
                       {q("seconds"), r.seconds},
                       {q("cancelled"), r.cancelled}};
}

QJsonArray siteStatsJson(const Model &model, const CaptureResult &r, bool histograms)
{
    QJsonArray out;
    const auto thresholds = model.thresholds();
    for (const Site &s : model.sites()) {
        const SiteStats &st = r.sites.at(std::size_t(s.index));
        QJsonObject o{{q("index"), s.index},
                      {q("name"), q(s.name)},
                      {q("op"), q(s.op)},
                      {q("sparsifiable"), s.sparsifiable},
                      {q("executed"), st.images > 0},
                      {q("threshold"), double(thresholds[std::size_t(s.index)])},
                      {q("elements_per_image"), double(s.elementsPerImage)},
                      {q("sparsity"), st.sparsity()},
                      {q("nonzeros_per_image"), st.nonzerosPerImage()},
                      {q("mean"), st.mean()},
                      {q("max"), st.images ? number(double(st.max)) : QJsonValue()},
                      {q("positive_median"), number(positiveQuantile(st, 0.5))},
                      {q("positive_p99"), number(positiveQuantile(st, 0.99))}};
        if (histograms)
            o.insert(q("histogram"), histogramJson(st.positive));
        out.append(o);
    }
    return out;
}

QJsonArray perClassJson(const std::vector<std::string> &classNames, const CaptureResult &r)
{
    QJsonArray out;
    for (std::size_t c = 0; c < r.classTotal.size(); ++c) {
        const auto total = r.classTotal[c];
        const auto correct = c < r.classCorrect.size() ? r.classCorrect[c] : 0;
        out.append(QJsonObject{{q("class"), int(c)},
                               {q("name"), c < classNames.size() ? q(classNames[c]) : QString::number(c)},
                               {q("images"), double(total)},
                               {q("correct"), double(correct)},
                               {q("top1"), total ? QJsonValue(100.0 * double(correct) / double(total)) : QJsonValue()}});
    }
    return out;
}

QJsonObject thresholdsJson(const Model &model, const std::vector<float> &thresholds)
{
    QJsonObject out;
    for (const Site &s : model.sites())
        if (s.sparsifiable)
            out.insert(q(s.name), double(thresholds.at(std::size_t(s.index))));
    return out;
}

QJsonObject channelThresholdsJson(const Model &model, const std::vector<std::vector<float>> &channels)
{
    QJsonObject out;
    for (const Site &s : model.sites()) {
        if (!s.sparsifiable || std::size_t(s.index) >= channels.size() || channels[std::size_t(s.index)].empty())
            continue;
        QJsonArray values;
        for (float v : channels[std::size_t(s.index)])
            values.append(double(v));
        out.insert(q(s.name), values);
    }
    return out;
}

QJsonObject searchJson(const SearchResult &r, double budgetPp, std::size_t calibrationImages)
{
    return QJsonObject{{q("budget_pp"), budgetPp},
                       {q("per_channel"), !r.channelThresholds.empty()},
                       {q("calibration_images"), double(calibrationImages)},
                       {q("start_top1"), r.startTop1},
                       {q("final_top1"), r.finalTop1},
                       {q("start_sparsity"), r.startSparsity},
                       {q("final_sparsity"), r.finalSparsity},
                       {q("evaluations"), r.evaluations},
                       {q("seconds"), r.seconds},
                       {q("cancelled"), r.cancelled}};
}

QJsonObject trainingJson(const Model &model, const TrainingResult &r, const std::vector<EpochReport> &epochs,
                         const QJsonObject &recipe, const QString &checkpointDir)
{
    QJsonArray epochArray;
    for (const auto &e : epochs)
        epochArray.append(QJsonObject{{q("phase"), q(e.phase)},
                                      {q("epoch"), e.epoch},
                                      {q("validation_top1"), e.validationTop1},
                                      {q("validation_sparsity"), e.validationSparsity},
                                      {q("seconds"), e.seconds}});
    QJsonObject bands;
    for (const Site &s : model.sites())
        if (std::size_t(s.index) < r.bands.size() && r.bands[std::size_t(s.index)] > 0.0f)
            bands.insert(q(s.name), double(r.bands[std::size_t(s.index)]));
    QJsonArray checkpoints;
    for (const auto &c : r.checkpoints)
        if (!checkpoints.contains(q(c)))
            checkpoints.append(q(c));
    QJsonObject out{{q("recipe"), recipe},
                    {q("epochs_done"), r.epochsDone},
                    {q("cancelled"), r.cancelled},
                    {q("validation_top1"), r.validationTop1},
                    {q("validation_sparsity"), r.validationSparsity},
                    {q("seconds"), r.seconds},
                    {q("checkpoint_dir"), checkpointDir},
                    {q("checkpoints"), checkpoints},
                    {q("bands"), bands},
                    {q("thresholds"), thresholdsJson(model, r.thresholds.empty() ? model.thresholds() : r.thresholds)},
                    {q("channel_thresholds"), channelThresholdsJson(model, r.thresholds.empty() ? model.channelThresholds()
                                                                                                 : r.channelThresholds)},
                    {q("epochs"), epochArray}};
    if (r.search.evaluations > 0)
        out.insert(q("search"), searchJson(r.search, recipe.value(q("thresholds")).toObject().value(q("budget_pp")).toDouble(), 0));
    return out;
}

QJsonObject methodComparisonJson(const MethodComparison &c)
{
    QJsonArray methods;
    for (const auto &m : c.methods) {
        QJsonArray sites;
        for (std::size_t i = 0; i < c.siteNames.size(); ++i)
            if (c.sparsifiable[i]) {
                QJsonObject site{{q("name"), q(c.siteNames[i])},
                                 {q("sparsity"), i < m.siteSparsity.size() ? number(m.siteSparsity[i]) : QJsonValue()},
                                 {q("threshold"), i < m.thresholds.size() ? QJsonValue(double(m.thresholds[i])) : QJsonValue()}};
                if (i < m.channelThresholds.size() && !m.channelThresholds[i].empty()) {
                    QJsonArray values;
                    for (float v : m.channelThresholds[i])
                        values.append(double(v));
                    site.insert(q("channel_thresholds"), values); // "threshold" is then their mean
                }
                sites.append(site);
            }
        methods.append(QJsonObject{{q("method"), q(methodName(m.method))},
                                   {q("top1"), m.top1},
                                   {q("top5"), m.top5},
                                   {q("top1_delta_pp"), number(m.top1DeltaPp)},
                                   {q("activation_sparsity"), m.activationSparsity},
                                   {q("nonzeros_per_image"), m.nonzerosPerImage},
                                   {q("removed_vs_relu"), number(m.removedVsRelu)},
                                   {q("training_seconds"), m.training.seconds},
                                   {q("epochs_done"), m.training.epochsDone},
                                   {q("recipe"), QJsonDocument::fromJson(QByteArray::fromStdString(m.recipe.toJson())).object()},
                                   {q("sites"), sites}});
    }
    return QJsonObject{{q("epochs_per_method"), c.epochs},
                       {q("evaluation_images"), double(c.evaluationImages)},
                       {q("cancelled"), c.cancelled},
                       {q("methods"), methods}};
}

ProcessorParams findPreset(const QString &nameOrFile)
{
    if (QFileInfo(nameOrFile).isFile())
        return loadPreset(nameOrFile);
    const QString builtIn = QDir(builtInPresetDir()).filePath(nameOrFile + QStringLiteral(".json"));
    if (QFileInfo(builtIn).isFile())
        return loadPreset(builtIn);
    QStringList names;
    for (const auto &e : listPresets())
        if (e.builtIn)
            names.append(QFileInfo(e.path).completeBaseName());
    throw Error("processor preset \"" + nameOrFile.toStdString() + "\": no such file and no built-in preset of that name " +
                "(built in: " + names.join(QStringLiteral(", ")).toStdString() + ")");
}

// ---- Projection ----

Projection project(const ProcessorParams &params, const Model &model, const std::vector<SiteStats> &baseline,
                   const std::vector<SiteStats> *tuned)
{
    if (baseline.size() != model.sites().size() || (tuned && tuned->size() != model.sites().size()))
        throw Error("projection: the statistics have " + std::to_string(baseline.size()) + " sites, " + model.path() +
                    " has " + std::to_string(model.sites().size()));
    if (model.layers().empty())
        throw Error(model.path() + ": no convolution or linear layer was found, so there is nothing to project");
    Projection p;
    p.params = params;
    p.denseWorkload = denseWorkload(model.layers());
    p.baselineWorkload = workloadFromStats(model.layers(), model.sites(), baseline);
    p.dense = evaluate(params, p.denseWorkload);
    p.baseline = evaluate(params, p.baselineWorkload);
    p.baselineVsDense = compare(p.dense, p.baseline);
    if (tuned) {
        p.hasTuned = true;
        p.tunedWorkload = workloadFromStats(model.layers(), model.sites(), *tuned);
        p.tuned = evaluate(params, p.tunedWorkload);
        p.tunedVsBaseline = compare(p.baseline, p.tuned);
        p.tunedVsDense = compare(p.dense, p.tuned);
    }
    return p;
}

QJsonObject projectionJson(const Projection &p)
{
    QJsonObject processor{{q("name"), q(p.params.name)},
                          {q("file"), q(p.params.file)},
                          {q("mapping"), q(mappingName(p.params.mapping))},
                          {q("skips_zeros"), p.params.skipsZeros},
                          {q("cores"), p.params.cores},
                          {q("clock_hz"), p.params.clockHz}};
    QJsonArray layers;
    for (std::size_t i = 0; i < p.baselineWorkload.layers.size(); ++i) {
        const auto &b = p.baselineWorkload.layers[i];
        QJsonObject row{{q("name"), q(b.name)},
                        {q("kind"), q(layerKindName(b.kind))},
                        {q("source"), q(opsSourceName(b.source))},
                        {q("dense_synops"), b.denseSynops},
                        {q("baseline_density"), b.density},
                        {q("baseline_synops"), b.synops},
                        {q("baseline_cycles"), p.baseline.layers[i].cycles},
                        {q("baseline_energy_j"), p.baseline.layers[i].energy.dynamic()}};
        if (p.hasTuned) {
            const auto &t = p.tunedWorkload.layers[i];
            row.insert(q("tuned_density"), t.density);
            row.insert(q("tuned_synops"), t.synops);
            row.insert(q("tuned_cycles"), p.tuned.layers[i].cycles);
            row.insert(q("tuned_energy_j"), p.tuned.layers[i].energy.dynamic());
            row.insert(q("latency_ratio"), number(p.tunedVsBaseline.layers[i].latencyRatio));
        }
        layers.append(row);
    }
    QJsonObject out{{q("processor"), processor},
                    {q("dense"), processorEvaluationJson(p.dense)},
                    {q("baseline"), processorEvaluationJson(p.baseline)},
                    {q("tuned"), p.hasTuned ? QJsonValue(processorEvaluationJson(p.tuned)) : QJsonValue()},
                    {q("baseline_vs_dense"), comparisonJson(p.baselineVsDense)},
                    {q("tuned_vs_baseline"), p.hasTuned ? QJsonValue(comparisonJson(p.tunedVsBaseline)) : QJsonValue()},
                    {q("tuned_vs_dense"), p.hasTuned ? QJsonValue(comparisonJson(p.tunedVsDense)) : QJsonValue()},
                    {q("layers"), layers}};
    return out;
}

// ---- Text ----

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
    t.addColumn(QStringLiteral("shape"));
    t.addColumn(QStringLiteral("elements"));
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
    t.addColumn(QStringLiteral("shape"));
    t.addColumn(QStringLiteral("threshold"));
    t.addColumn(QStringLiteral("sparsity"));
    t.addColumn(QStringLiteral("nonzeros/img"));
    t.addColumn(QStringLiteral("mean"));
    t.addColumn(QStringLiteral("median>0"));
    t.addColumn(QStringLiteral("p99>0"));
    t.addColumn(QStringLiteral("max"));
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
    layers.addColumn(QStringLiteral("dense synops"));
    layers.addColumn(QStringLiteral("base density"));
    layers.addColumn(QStringLiteral("base synops"));
    layers.addColumn(QStringLiteral("base cycles"));
    if (p.hasTuned) {
        layers.addColumn(QStringLiteral("tuned density"));
        layers.addColumn(QStringLiteral("tuned synops"));
        layers.addColumn(QStringLiteral("tuned cycles"));
        layers.addColumn(QStringLiteral("speed-up"));
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
    totals.addColumn(QStringLiteral("dense"));
    totals.addColumn(QStringLiteral("baseline"));
    if (p.hasTuned) {
        totals.addColumn(QStringLiteral("tuned"));
        totals.addColumn(QStringLiteral("tuned vs baseline"));
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
    t.addColumn(QStringLiteral("val top-1"));
    t.addColumn(QStringLiteral("val sparsity"));
    t.addColumn(QStringLiteral("time"));
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
    s.addColumn(QStringLiteral("band"));
    s.addColumn(QStringLiteral("threshold"));
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
    t.addColumn(QStringLiteral("top-1"));
    t.addColumn(QStringLiteral("vs ReLU"));
    t.addColumn(QStringLiteral("sparsity"));
    t.addColumn(QStringLiteral("nonzeros/img"));
    t.addColumn(QStringLiteral("removed vs ReLU"));
    t.addColumn(QStringLiteral("train time"));
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
    t.addColumn(QStringLiteral("before"));
    t.addColumn(QStringLiteral("threshold"));
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

// ---- Files ----

QString perSiteCsv(const Model &model, const std::vector<float> &thresholds, const CaptureResult *r)
{
    // Names come from the model file: quote \r too, and keep a spreadsheet from reading a leading = + - @ (or a
    // tab or carriage return) as a formula (OWASP's CSV injection advice: prefix a single quote).
    auto field = [](const QString &s) -> QString {
        QString e = s;
        const bool formula = !e.isEmpty() && QStringLiteral("=+-@\t\r").contains(e.front());
        if (formula)
            e.prepend(QLatin1Char('\''));
        if (!formula && !e.contains(QLatin1Char(',')) && !e.contains(QLatin1Char('"')) && !e.contains(QLatin1Char('\n')) &&
            !e.contains(QLatin1Char('\r')))
            return e;
        e.replace(QStringLiteral("\""), QStringLiteral("\"\""));
        return QLatin1Char('"') + e + QLatin1Char('"');
    };
    QString out = QStringLiteral("index,name,op,kind,sparsifiable,threshold,images,elements_per_image,sparsity,"
                                 "nonzeros_per_image,mean,max\r\n");
    for (const Site &s : model.sites()) {
        QStringList row{QString::number(s.index), field(q(s.name)), field(q(s.op)), q(activationKindName(s.kind)),
                        s.sparsifiable ? QStringLiteral("true") : QStringLiteral("false"),
                        QString::number(double(thresholds.at(std::size_t(s.index))), 'g', 9)};
        if (r && r->sites.at(std::size_t(s.index)).images > 0) {
            const SiteStats &st = r->sites[std::size_t(s.index)];
            row << QString::number(st.images) << QString::number(s.elementsPerImage) << QString::number(st.sparsity(), 'g', 9)
                << QString::number(st.nonzerosPerImage(), 'g', 9) << QString::number(st.mean(), 'g', 9)
                << QString::number(double(st.max), 'g', 9);
        } else {
            row << QString() << QString::number(s.elementsPerImage) << QString() << QString() << QString() << QString();
        }
        out += row.join(QLatin1Char(',')) + QStringLiteral("\r\n");
    }
    return out;
}

std::string exportMetadata(const Model &model, const std::vector<float> &thresholds, const QJsonObject &channelThresholds,
                           const QJsonObject &recipe, const CaptureResult *measured, const QJsonObject &measuredOn)
{
    const auto &m = model.metadata();
    QJsonObject root;
    if (m.present)
        root = QJsonDocument::fromJson(QByteArray::fromStdString(m.json)).object();
    QJsonObject tuning{{q("schema"), q("sparsity-explorer/tuning")},
                       {q("version"), 1},
                       {q("source_model"), QFileInfo(q(model.path())).fileName()},
                       {q("thresholds"), thresholdsJson(model, thresholds)},
                       {q("channel_thresholds"), channelThresholds},
                       {q("recipe"), recipe.isEmpty() ? QJsonValue() : QJsonValue(recipe)}};
    if (measured) {
        const auto mask = sparsifiableMask(model);
        tuning.insert(q("measured"),
                      QJsonObject{{q("on"), measuredOn},
                                  {q("images"), double(measured->images)},
                                  {q("top1"), measured->labelled ? QJsonValue(measured->top1()) : QJsonValue()},
                                  {q("top5"), measured->labelled ? QJsonValue(measured->top5()) : QJsonValue()},
                                  {q("activation_sparsity"), measured->activationSparsity(mask)},
                                  {q("nonzeros_per_image"), measured->nonzerosPerImage(mask)}});
    } else {
        tuning.insert(q("measured"), QJsonValue());
    }
    // The recorded accuracy belongs to the input model; keep it, but under the tuning record, so that nobody
    // mistakes it for the tuned model's.
    if (root.contains(q("accuracy"))) {
        tuning.insert(q("source_accuracy"), root.value(q("accuracy")));
        root.remove(q("accuracy"));
    }
    root.insert(q("tuning"), tuning);
    return QJsonDocument(root).toJson(QJsonDocument::Indented).toStdString();
}

void writeFileAtomically(const QString &path, const QByteArray &bytes)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        throw Error(path.toStdString() + ": cannot be written (" + file.errorString().toStdString() + ")");
    if (file.write(bytes) != bytes.size() || !file.commit())
        throw Error(path.toStdString() + ": could not be saved (" + file.errorString().toStdString() +
                    "); any previous file is unchanged");
}

} // namespace report
} // namespace sparsity
