#include "tune/recipe.h"

#include "error.h"
#include "io/boundedread.h"
#include "jsonreader.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <algorithm>
#include <map>

namespace sparsity {

namespace {

const char *const kSchema = "sparsity-explorer/recipe";
constexpr int kVersion = 1;

template <typename E>
struct Names {
    std::vector<std::pair<E, const char *>> items;
    const char *name(E e) const
    {
        for (const auto &[v, n] : items)
            if (v == e)
                return n;
        return "?";
    }
    E value(const QString &text, const std::string &origin, const char *field) const
    {
        std::string allowed;
        for (const auto &[v, n] : items) {
            if (text == QString::fromUtf8(n))
                return v;
            allowed += (allowed.empty() ? "" : ", ") + std::string(n);
        }
        throw Error(origin + ": field '" + field + "' is '" + text.toStdString() + "'; expected one of " + allowed);
    }
};

const Names<Recipe::Method> kMethods{{{Recipe::Method::Star, "star"},
                                      {Recipe::Method::L1Only, "l1-only"},
                                      {Recipe::Method::ThresholdOnly, "threshold-only"},
                                      {Recipe::Method::Relu, "relu"},
                                      {Recipe::Method::HoyerThreshold, "hoyer-threshold"}}};
const Names<Recipe::ScopeMode> kScopes{{{Recipe::ScopeMode::All, "all"}, {Recipe::ScopeMode::Sites, "sites"}, {Recipe::ScopeMode::Depth, "depth"}}};
const Names<Recipe::BandMode> kBands{{{Recipe::BandMode::Absolute, "absolute"}, {Recipe::BandMode::Quantile, "quantile"}}};
const Names<Recipe::Penalty> kPenalties{{{Recipe::Penalty::L1, "l1"}, {Recipe::Penalty::HoyerSquare, "hoyer-square"}}};
const Names<Recipe::PenaltyWeighting> kWeightings{
    {{Recipe::PenaltyWeighting::PerSite, "site"}, {Recipe::PenaltyWeighting::PerActivation, "activation"}}};
const Names<Recipe::ThresholdMode> kThresholdModes{{{Recipe::ThresholdMode::Search, "search"},
                                                    {Recipe::ThresholdMode::Quantile, "quantile"},
                                                    {Recipe::ThresholdMode::Global, "global"},
                                                    {Recipe::ThresholdMode::Keep, "keep"}}};
const Names<ChannelReference> kChannelReferences{{{ChannelReference::MeanPositive, "mean"},
                                                  {ChannelReference::MedianPositive, "median"}}};
const Names<SearchOptions::Strategy> kStrategies{
    {{SearchOptions::Strategy::Bisection, "bisection"}, {SearchOptions::Strategy::Greedy, "greedy"}}};
const Names<OptimizerSettings::Kind> kOptimizers{{{OptimizerSettings::Kind::Sgd, "sgd"}, {OptimizerSettings::Kind::Adam, "adam"}}};
const Names<OptimizerSettings::Schedule> kSchedules{{{OptimizerSettings::Schedule::Constant, "constant"},
                                                     {OptimizerSettings::Schedule::Cosine, "cosine"},
                                                     {OptimizerSettings::Schedule::Step, "step"}}};

QString q(const char *s) { return QString::fromUtf8(s); }

QJsonObject optimizerJson(const OptimizerSettings &o)
{
    return {{q("optimizer"), q(kOptimizers.name(o.kind))}, {q("learning_rate"), o.learningRate},
            {q("momentum"), o.momentum},                  {q("weight_decay"), o.weightDecay},
            {q("schedule"), q(kSchedules.name(o.schedule))}, {q("step_epochs"), o.stepEpochs},
            {q("step_gamma"), o.stepGamma}};
}

// The recipe format's wording: `ORIGIN: field 'band.value' is 2.000000; expected 0.000000 to 1.000000`.
JsonReader::Message recipeMessage(const std::string &origin)
{
    return [origin](const QString &field, const QString &problem) {
        return origin + ": field '" + field.toStdString() + "' " + problem.toStdString();
    };
}

OptimizerSettings readOptimizer(const JsonReader &r, const OptimizerSettings &fallback, const std::string &origin)
{
    OptimizerSettings s = fallback;
    s.kind = kOptimizers.value(r.text(q("optimizer"), kOptimizers.name(fallback.kind)), origin, "optimizer");
    s.learningRate = r.number(q("learning_rate"), fallback.learningRate, 0.0, 10.0);
    s.momentum = r.number(q("momentum"), fallback.momentum, 0.0, 1.0);
    s.weightDecay = r.number(q("weight_decay"), fallback.weightDecay, 0.0, 1.0);
    s.schedule = kSchedules.value(r.text(q("schedule"), kSchedules.name(fallback.schedule)), origin, "schedule");
    s.stepEpochs = int(r.whole(q("step_epochs"), fallback.stepEpochs, 1, 1000));
    s.stepGamma = r.number(q("step_gamma"), fallback.stepGamma, 0.0, 1.0);
    return s;
}

} // namespace

const char *methodName(Recipe::Method method) { return kMethods.name(method); }

Recipe::Method methodFromName(const std::string &name)
{
    return kMethods.value(QString::fromStdString(name), "method", "method");
}

Recipe Recipe::forMethod(Method method)
{
    Recipe r;
    r.method = method;
    r.regularizeOptimizer.learningRate = 1e-3;
    r.finetuneOptimizer.learningRate = 3e-4;
    switch (method) {
    case Method::Star:
        break;
    case Method::L1Only:
        r.bandMode = BandMode::Absolute;
        r.band = 0.0; // no upper limit: every positive activation is penalised
        r.thresholdMode = ThresholdMode::Keep;
        break;
    case Method::ThresholdOnly:
        r.lambda = 0.0;
        break;
    case Method::Relu:
        r.lambda = 0.0;
        r.thresholdMode = ThresholdMode::Keep;
        break;
    case Method::HoyerThreshold:
        r.penalty = Penalty::HoyerSquare;
        r.lambda = 0.05;
        r.bandMode = BandMode::Absolute;
        r.band = 0.0;
        break;
    }
    return r;
}

std::string Recipe::toJson() const
{
    auto finetuneJson = [&] {
        QJsonObject o{{q("epochs"), finetuneEpochs}, {q("optimizer"), optimizerJson(finetuneOptimizer)},
                      {q("rounds"), rounds}, {q("penalize"), penalizeWhileFinetuning}, {q("ramp_epochs"), rampEpochs}};
        if (finetuneLambda >= 0.0) // absent: the penalty's lambda
            o.insert(q("lambda"), finetuneLambda);
        if (finetuneBandFactor > 0.0)
            o.insert(q("band_factor"), finetuneBandFactor);
        if (learnThresholds) {
            o.insert(q("learn_thresholds"), true);
            o.insert(q("threshold_learning_rate"), thresholdLearningRate);
            o.insert(q("sparsity_weight"), sparsityWeight);
            o.insert(q("sparsity_weighting"), q(kWeightings.name(sparsityWeighting)));
        }
        return o;
    };
    QJsonArray sites;
    for (const auto &s : scopeSites)
        sites.append(QString::fromStdString(s));
    QJsonObject root{
        {q("schema"), q(kSchema)},
        {q("version"), kVersion},
        {q("method"), q(kMethods.name(method))},
        {q("scope"), QJsonObject{{q("mode"), q(kScopes.name(scopeMode))}, {q("sites"), sites}, {q("min_depth"), minDepth},
                                 {q("max_depth"), maxDepth}}},
        {q("band"), QJsonObject{{q("mode"), q(kBands.name(bandMode))}, {q("value"), band}, {q("per_channel"), bandPerChannel}}},
        {q("penalty"), QJsonObject{{q("type"), q(kPenalties.name(penalty))}, {q("lambda"), lambda},
                                   {q("weighting"), q(kWeightings.name(penaltyWeighting))}}},
        {q("regularize"), QJsonObject{{q("epochs"), regularizeEpochs}, {q("optimizer"), optimizerJson(regularizeOptimizer)}}},
        {q("thresholds"), QJsonObject{{q("mode"), q(kThresholdModes.name(thresholdMode))}, {q("budget_pp"), budgetPp},
                                      {q("target_sparsity"), targetSparsity}, {q("global_value"), globalThreshold},
                                      {q("per_channel"), perChannelThresholds},
                                      {q("channel_reference"), q(kChannelReferences.name(channelReference))},
                                      {q("strategy"), q(kStrategies.name(searchStrategy))},
                                      {q("constant_share"), constantShare}, {q("constants_first"), constantsFirst}}},
        {q("finetune"), finetuneJson()},
        {q("data"), QJsonObject{{q("batch_size"), double(batchSize)}, {q("train_images"), double(trainImages)},
                                {q("calibration_images"), double(calibrationImages)},
                                {q("validation_images"), double(validationImages)}, {q("seed"), double(seed)},
                                {q("augment"), augment}, {q("crop_padding"), cropPadding}}},
        {q("distillation"), QJsonObject{{q("weight"), distillationWeight}, {q("temperature"), distillationTemperature}}},
        {q("batchnorm"), q(freezeBatchNorm ? "frozen" : "train")}};
    return QJsonDocument(root).toJson().toStdString();
}

Recipe Recipe::fromJson(const std::string &json, const std::string &origin)
{
    QJsonParseError error{};
    const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(json), &error);
    if (doc.isNull() || !doc.isObject())
        throw Error(origin + ": not a JSON object (" + error.errorString().toStdString() + " at offset " +
                    std::to_string(error.offset) + ")");
    const QJsonObject root = doc.object();
    if (root.value(q("schema")).toString() != q(kSchema))
        throw Error(origin + ": field 'schema' must be \"" + kSchema + "\"; this is not a recipe file");
    if (!root.value(q("version")).isDouble() || root.value(q("version")).toDouble() != double(kVersion))
        throw Error(origin + ": recipe version " + std::to_string(root.value(q("version")).toInt()) +
                    " is not supported (this program reads version " + std::to_string(kVersion) + ")");
    const JsonReader top(root, recipeMessage(origin));
    Recipe r = forMethod(kMethods.value(top.text(q("method"), "star"), origin, "method"));

    const JsonReader sr = top.optionalSub(q("scope"));
    r.scopeMode = kScopes.value(sr.text(q("mode"), "all"), origin, "scope.mode");
    if (sr.has(q("sites")))
        for (const auto v : sr.array(q("sites"))) {
            if (!v.isString())
                sr.wrongType(q("sites"), "an array of site names (strings)");
            r.scopeSites.push_back(v.toString().toStdString());
        }
    r.minDepth = int(sr.whole(q("min_depth"), r.minDepth, 0, 1 << 30));
    r.maxDepth = int(sr.whole(q("max_depth"), r.maxDepth, 0, 1 << 30));

    const JsonReader br = top.optionalSub(q("band"));
    r.bandMode = kBands.value(br.text(q("mode"), kBands.name(r.bandMode)), origin, "band.mode");
    r.band = br.number(q("value"), r.band, 0.0, 1e9);
    if (r.bandMode == BandMode::Quantile && r.band > 1.0)
        throw Error(origin + ": field 'band.value' is a quantile and must be between 0 and 1");
    r.bandPerChannel = br.flag(q("per_channel"), r.bandPerChannel);

    const JsonReader pr = top.optionalSub(q("penalty"));
    r.penalty = kPenalties.value(pr.text(q("type"), kPenalties.name(r.penalty)), origin, "penalty.type");
    r.lambda = pr.number(q("lambda"), r.lambda, 0.0, 1e9);
    r.penaltyWeighting = kWeightings.value(pr.text(q("weighting"), kWeightings.name(r.penaltyWeighting)), origin, "penalty.weighting");

    const JsonReader reg = top.optionalSub(q("regularize"));
    r.regularizeEpochs = int(reg.whole(q("epochs"), r.regularizeEpochs, 0, 10000));
    r.regularizeOptimizer = readOptimizer(reg.optionalSub(q("optimizer")), r.regularizeOptimizer, origin);

    const JsonReader tr = top.optionalSub(q("thresholds"));
    r.thresholdMode = kThresholdModes.value(tr.text(q("mode"), kThresholdModes.name(r.thresholdMode)), origin, "thresholds.mode");
    r.budgetPp = tr.number(q("budget_pp"), r.budgetPp, 0.0, 100.0);
    r.targetSparsity = tr.number(q("target_sparsity"), r.targetSparsity, 0.0, 1.0);
    r.globalThreshold = tr.number(q("global_value"), r.globalThreshold, 0.0, 1e9);
    r.perChannelThresholds = tr.flag(q("per_channel"), r.perChannelThresholds);
    r.channelReference = kChannelReferences.value(tr.text(q("channel_reference"), kChannelReferences.name(r.channelReference)),
                                                  origin, "thresholds.channel_reference");
    r.constantShare = tr.number(q("constant_share"), r.constantShare, 0.0, 1.0);
    r.constantsFirst = tr.flag(q("constants_first"), r.constantsFirst);
    r.searchStrategy = kStrategies.value(tr.text(q("strategy"), kStrategies.name(r.searchStrategy)), origin, "thresholds.strategy");
    if (r.searchStrategy == SearchOptions::Strategy::Greedy && r.perChannelThresholds)
        throw Error(origin + ": field 'thresholds.strategy' greedy sets one threshold per site; per_channel needs bisection");

    const JsonReader fr = top.optionalSub(q("finetune"));
    r.finetuneEpochs = int(fr.whole(q("epochs"), r.finetuneEpochs, 0, 10000));
    r.rounds = int(fr.whole(q("rounds"), r.rounds, 1, 100));
    r.finetuneLambda = fr.number(q("lambda"), r.finetuneLambda, 0.0, 1e9);
    r.rampEpochs = fr.number(q("ramp_epochs"), r.rampEpochs, 0.0, 10000.0);
    if (r.rampEpochs > double(r.finetuneEpochs))
        throw Error(origin + ": field 'finetune.ramp_epochs' (" + std::to_string(r.rampEpochs) +
                    ") must not exceed 'finetune.epochs' (" + std::to_string(r.finetuneEpochs) + "): the thresholds would never reach their value");
    r.penalizeWhileFinetuning = fr.flag(q("penalize"), r.penalizeWhileFinetuning);
    r.finetuneBandFactor = fr.number(q("band_factor"), r.finetuneBandFactor, 0.0, 1e6);
    if (r.finetuneBandFactor > 0.0 && r.finetuneBandFactor <= 1.0)
        throw Error(origin + ": field 'finetune.band_factor' (" + std::to_string(r.finetuneBandFactor) +
                    ") must be 0 (off) or above 1: the band (t, c t] is empty otherwise");
    r.finetuneOptimizer = readOptimizer(fr.optionalSub(q("optimizer")), r.finetuneOptimizer, origin);
    r.learnThresholds = fr.flag(q("learn_thresholds"), r.learnThresholds);
    r.thresholdLearningRate = fr.number(q("threshold_learning_rate"), r.thresholdLearningRate, 0.0, 10.0);
    r.sparsityWeight = fr.number(q("sparsity_weight"), r.sparsityWeight, 0.0, 1e6);
    r.sparsityWeighting = kWeightings.value(fr.text(q("sparsity_weighting"), kWeightings.name(r.sparsityWeighting)), origin,
                                            "finetune.sparsity_weighting");
    if (r.learnThresholds && r.rampEpochs > 0.0)
        throw Error(origin + ": field 'finetune.learn_thresholds' cannot be combined with 'finetune.ramp_epochs': the ramp "
                    "sets the thresholds the learning would move");
    if (r.learnThresholds && r.perChannelThresholds)
        throw Error(origin + ": field 'finetune.learn_thresholds' learns one threshold per site; 'thresholds.per_channel' "
                    "sets one per channel");

    const JsonReader dr = top.optionalSub(q("data"));
    r.batchSize = std::size_t(dr.whole(q("batch_size"), double(r.batchSize), 1, 65536));
    r.trainImages = std::size_t(dr.whole(q("train_images"), double(r.trainImages), 0, 1e9));
    r.calibrationImages = std::size_t(dr.whole(q("calibration_images"), double(r.calibrationImages), 1, 1e9));
    r.validationImages = std::size_t(dr.whole(q("validation_images"), double(r.validationImages), 0, 1e9));
    r.seed = std::uint64_t(dr.whole(q("seed"), double(r.seed), 0, 9007199254740991.0));
    r.augment = dr.flag(q("augment"), r.augment);
    r.cropPadding = int(dr.whole(q("crop_padding"), r.cropPadding, 0, 64));

    const JsonReader kd = top.optionalSub(q("distillation"));
    r.distillationWeight = kd.number(q("weight"), r.distillationWeight, 0.0, 1.0);
    r.distillationTemperature = kd.number(q("temperature"), r.distillationTemperature, 0.01, 1000.0);
    const QString batchNorm = top.text(q("batchnorm"), r.freezeBatchNorm ? "frozen" : "train");
    if (batchNorm != q("frozen") && batchNorm != q("train"))
        throw Error(origin + ": field 'batchnorm' must be \"train\" or \"frozen\"");
    r.freezeBatchNorm = batchNorm == q("frozen");
    return r;
}

Recipe Recipe::load(const std::string &path)
{
    return fromJson(readBoundedText(path, limits::kSettingsFileBytes, "recipe"), path);
}

void Recipe::save(const std::string &path) const
{
    QSaveFile f(QString::fromStdString(path));
    if (!f.open(QIODevice::WriteOnly))
        throw Error(path + ": cannot write the recipe (" + f.errorString().toStdString() + ")");
    f.write(QByteArray::fromStdString(toJson()));
    if (!f.commit())
        throw Error(path + ": cannot save the recipe (" + f.errorString().toStdString() + ")");
}

} // namespace sparsity
