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

std::vector<bool> sparsifiableMask(const Model &model)
{
    return sparsifiableMask(model.sites());
}

double positiveQuantile(const SiteStats &s, double fraction)
{
    const auto total = s.positive.total();
    // Interpolation inside the top bin can pass the largest value seen; no quantile is above the maximum.
    return total ? std::min(s.positive.quantileValue(fraction * double(total)), double(s.max)) : std::nan("");
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

} // namespace report
} // namespace sparsity
