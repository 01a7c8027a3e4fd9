#include "tune/recipe.h"

#include "error.h"
#include "io/boundedread.h"
#include "graph/model.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <algorithm>
#include <cmath>
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
                                      {Recipe::Method::Relu, "relu"}}};
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

// Reads fields with type and range checks; every message names the document and the field.
struct Reader {
    const QJsonObject &o;
    std::string origin;
    std::string prefix;

    std::string path(const char *key) const { return prefix + key; }
    double number(const char *key, double fallback, double lo, double hi) const
    {
        if (!o.contains(q(key)))
            return fallback;
        const auto v = o.value(q(key));
        if (!v.isDouble())
            throw Error(origin + ": field '" + path(key) + "' must be a number");
        const double x = v.toDouble();
        if (x < lo || x > hi)
            throw Error(origin + ": field '" + path(key) + "' is " + std::to_string(x) + "; expected " + std::to_string(lo) +
                        " to " + std::to_string(hi));
        return x;
    }
    // A whole number in [lo, hi]: "epochs": 2.5 is refused rather than truncated.
    double whole(const char *key, double fallback, double lo, double hi) const
    {
        const double x = number(key, fallback, lo, hi);
        if (x != std::floor(x))
            throw Error(origin + ": field '" + path(key) + "' must be a whole number, not " + std::to_string(x));
        return x;
    }
    QString text(const char *key, const char *fallback) const
    {
        if (!o.contains(q(key)))
            return q(fallback);
        if (!o.value(q(key)).isString())
            throw Error(origin + ": field '" + path(key) + "' must be a string");
        return o.value(q(key)).toString();
    }
    bool flag(const char *key, bool fallback) const
    {
        if (!o.contains(q(key)))
            return fallback;
        if (!o.value(q(key)).isBool())
            throw Error(origin + ": field '" + path(key) + "' must be true or false");
        return o.value(q(key)).toBool();
    }
    QJsonObject object(const char *key) const
    {
        if (!o.contains(q(key)))
            return {};
        if (!o.value(q(key)).isObject())
            throw Error(origin + ": field '" + path(key) + "' must be an object");
        return o.value(q(key)).toObject();
    }
};

OptimizerSettings readOptimizer(const QJsonObject &o, const OptimizerSettings &fallback, const std::string &origin,
                                const std::string &prefix)
{
    Reader r{o, origin, prefix};
    OptimizerSettings s = fallback;
    s.kind = kOptimizers.value(r.text("optimizer", kOptimizers.name(fallback.kind)), origin, "optimizer");
    s.learningRate = r.number("learning_rate", fallback.learningRate, 0.0, 10.0);
    s.momentum = r.number("momentum", fallback.momentum, 0.0, 1.0);
    s.weightDecay = r.number("weight_decay", fallback.weightDecay, 0.0, 1.0);
    s.schedule = kSchedules.value(r.text("schedule", kSchedules.name(fallback.schedule)), origin, "schedule");
    s.stepEpochs = int(r.whole("step_epochs", fallback.stepEpochs, 1, 1000));
    s.stepGamma = r.number("step_gamma", fallback.stepGamma, 0.0, 1.0);
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
                                {q("augment"), augment}}},
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
    Reader top{root, origin, ""};
    Recipe r = forMethod(kMethods.value(top.text("method", "star"), origin, "method"));

    const QJsonObject scope = top.object("scope");
    Reader sr{scope, origin, "scope."};
    r.scopeMode = kScopes.value(sr.text("mode", "all"), origin, "scope.mode");
    if (scope.contains(q("sites")) && !scope.value(q("sites")).isArray())
        throw Error(origin + ": field 'scope.sites' must be an array of site names");
    for (const auto v : scope.value(q("sites")).toArray()) {
        if (!v.isString())
            throw Error(origin + ": field 'scope.sites' must be an array of site names (strings)");
        r.scopeSites.push_back(v.toString().toStdString());
    }
    r.minDepth = int(sr.whole("min_depth", r.minDepth, 0, 1 << 30));
    r.maxDepth = int(sr.whole("max_depth", r.maxDepth, 0, 1 << 30));

    const QJsonObject band = top.object("band");
    Reader br{band, origin, "band."};
    r.bandMode = kBands.value(br.text("mode", kBands.name(r.bandMode)), origin, "band.mode");
    r.band = br.number("value", r.band, 0.0, 1e9);
    if (r.bandMode == BandMode::Quantile && r.band > 1.0)
        throw Error(origin + ": field 'band.value' is a quantile and must be between 0 and 1");
    r.bandPerChannel = br.flag("per_channel", r.bandPerChannel);

    const QJsonObject penalty = top.object("penalty");
    Reader pr{penalty, origin, "penalty."};
    r.penalty = kPenalties.value(pr.text("type", kPenalties.name(r.penalty)), origin, "penalty.type");
    r.lambda = pr.number("lambda", r.lambda, 0.0, 1e9);
    r.penaltyWeighting = kWeightings.value(pr.text("weighting", kWeightings.name(r.penaltyWeighting)), origin, "penalty.weighting");

    const QJsonObject reg = top.object("regularize");
    r.regularizeEpochs = int(Reader{reg, origin, "regularize."}.whole("epochs", r.regularizeEpochs, 0, 10000));
    r.regularizeOptimizer = readOptimizer(Reader{reg, origin, "regularize."}.object("optimizer"), r.regularizeOptimizer, origin, "regularize.optimizer.");

    const QJsonObject th = top.object("thresholds");
    Reader tr{th, origin, "thresholds."};
    r.thresholdMode = kThresholdModes.value(tr.text("mode", kThresholdModes.name(r.thresholdMode)), origin, "thresholds.mode");
    r.budgetPp = tr.number("budget_pp", r.budgetPp, 0.0, 100.0);
    r.targetSparsity = tr.number("target_sparsity", r.targetSparsity, 0.0, 1.0);
    r.globalThreshold = tr.number("global_value", r.globalThreshold, 0.0, 1e9);
    r.perChannelThresholds = tr.flag("per_channel", r.perChannelThresholds);
    r.channelReference = kChannelReferences.value(tr.text("channel_reference", kChannelReferences.name(r.channelReference)),
                                                  origin, "thresholds.channel_reference");
    r.constantShare = tr.number("constant_share", r.constantShare, 0.0, 1.0);
    r.constantsFirst = tr.flag("constants_first", r.constantsFirst);
    r.searchStrategy = kStrategies.value(tr.text("strategy", kStrategies.name(r.searchStrategy)), origin, "thresholds.strategy");
    if (r.searchStrategy == SearchOptions::Strategy::Greedy && r.perChannelThresholds)
        throw Error(origin + ": field 'thresholds.strategy' greedy sets one threshold per site; per_channel needs bisection");

    const QJsonObject ft = top.object("finetune");
    const Reader fr{ft, origin, "finetune."};
    r.finetuneEpochs = int(fr.whole("epochs", r.finetuneEpochs, 0, 10000));
    r.rounds = int(fr.whole("rounds", r.rounds, 1, 100));
    r.finetuneLambda = fr.number("lambda", r.finetuneLambda, 0.0, 1e9);
    r.rampEpochs = fr.number("ramp_epochs", r.rampEpochs, 0.0, 10000.0);
    if (r.rampEpochs > double(r.finetuneEpochs))
        throw Error(origin + ": field 'finetune.ramp_epochs' (" + std::to_string(r.rampEpochs) +
                    ") must not exceed 'finetune.epochs' (" + std::to_string(r.finetuneEpochs) + "): the thresholds would never reach their value");
    r.penalizeWhileFinetuning = fr.flag("penalize", r.penalizeWhileFinetuning);
    r.finetuneOptimizer = readOptimizer(fr.object("optimizer"), r.finetuneOptimizer, origin, "finetune.optimizer.");

    const QJsonObject data = top.object("data");
    Reader dr{data, origin, "data."};
    r.batchSize = std::size_t(dr.whole("batch_size", double(r.batchSize), 1, 65536));
    r.trainImages = std::size_t(dr.whole("train_images", double(r.trainImages), 0, 1e9));
    r.calibrationImages = std::size_t(dr.whole("calibration_images", double(r.calibrationImages), 1, 1e9));
    r.validationImages = std::size_t(dr.whole("validation_images", double(r.validationImages), 0, 1e9));
    r.seed = std::uint64_t(dr.whole("seed", double(r.seed), 0, 9007199254740991.0));
    r.augment = dr.flag("augment", r.augment);

    const QJsonObject distillation = top.object("distillation");
    Reader kd{distillation, origin, "distillation."};
    r.distillationWeight = kd.number("weight", r.distillationWeight, 0.0, 1.0);
    r.distillationTemperature = kd.number("temperature", r.distillationTemperature, 0.01, 1000.0);
    const QString batchNorm = top.text("batchnorm", r.freezeBatchNorm ? "frozen" : "train");
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

std::vector<bool> scopeMask(const Recipe &recipe, const Model &model)
{
    const auto &sites = model.sites();
    std::vector<bool> mask(sites.size(), false);
    // Depth among activation sites only, so that input taps do not shift it.
    std::vector<int> order;
    for (const auto &s : sites)
        if (s.sparsifiable)
            order.push_back(s.index);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return sites[std::size_t(a)].depth < sites[std::size_t(b)].depth; });
    for (std::size_t rank = 0; rank < order.size(); ++rank) {
        const auto &s = sites[std::size_t(order[rank])];
        switch (recipe.scopeMode) {
        case Recipe::ScopeMode::All:
            mask[std::size_t(s.index)] = true;
            break;
        case Recipe::ScopeMode::Sites:
            mask[std::size_t(s.index)] =
                std::find(recipe.scopeSites.begin(), recipe.scopeSites.end(), s.name) != recipe.scopeSites.end();
            break;
        case Recipe::ScopeMode::Depth:
            mask[std::size_t(s.index)] = int(rank) >= recipe.minDepth && int(rank) <= recipe.maxDepth;
            break;
        }
    }
    if (recipe.scopeMode == Recipe::ScopeMode::Sites)
        for (const auto &name : recipe.scopeSites)
            if (std::none_of(sites.begin(), sites.end(), [&](const Site &s) { return s.name == name; }))
                throw Error("recipe scope names site '" + name + "', which " + model.path() + " does not have");
    return mask;
}

std::vector<float> penaltyWeights(const Recipe &recipe, const Model &model)
{
    const auto scope = scopeMask(recipe, model);
    const auto &sites = model.sites();
    std::vector<float> weights(sites.size(), 0.0f);
    double scoped = 0.0, elements = 0.0;
    for (std::size_t i = 0; i < sites.size(); ++i)
        if (scope[i]) {
            scoped += 1.0;
            elements += double(sites[i].elementsPerImage);
        }
    const bool perActivation = recipe.penaltyWeighting == Recipe::PenaltyWeighting::PerActivation;
    if (perActivation && elements <= 0.0)
        throw Error("penalty weighting 'activation' needs the sites' sizes of " + model.path() + ", which no forward pass has measured yet");
    for (std::size_t i = 0; i < sites.size(); ++i)
        if (scope[i])
            weights[i] = perActivation ? float(scoped * double(sites[i].elementsPerImage) / elements) : 1.0f;
    return weights;
}

} // namespace sparsity
