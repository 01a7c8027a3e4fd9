#include "tune/protocol.h"

#include "error.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

namespace sparsity {

HeldOutSplit heldOutSplit(std::size_t size, std::size_t validationCount, std::uint64_t seed)
{
    if (validationCount >= size)
        throw Error("held-out split: " + std::to_string(validationCount) + " validation images leave none of the " +
                    std::to_string(size) + " for training");
    std::vector<std::size_t> all(size);
    std::iota(all.begin(), all.end(), std::size_t(0));
    // Our own Fisher-Yates over a fixed engine: std::shuffle's algorithm differs between standard libraries, and
    // the split must not change with the compiler.
    std::mt19937_64 rng(seed);
    for (std::size_t i = size - 1; i > 0; --i)
        std::swap(all[i], all[std::size_t(rng() % (i + 1))]);
    HeldOutSplit split;
    split.validation.assign(all.begin(), all.begin() + std::ptrdiff_t(validationCount));
    split.train.assign(all.begin() + std::ptrdiff_t(validationCount), all.end());
    std::sort(split.validation.begin(), split.validation.end());
    std::sort(split.train.begin(), split.train.end());
    return split;
}

namespace {

class SubsetDataset : public Dataset {
public:
    SubsetDataset(const Dataset &base, std::vector<std::size_t> indices, std::string name)
        : base_(base), indices_(std::move(indices)), name_(std::move(name))
    {
        for (std::size_t i : indices_)
            if (i >= base_.size())
                throw Error(base_.path() + ": subset '" + name_ + "' names image " + std::to_string(i) + " of " +
                            std::to_string(base_.size()));
    }
    std::string path() const override { return base_.path() + " (" + name_ + ")"; }
    std::string format() const override { return base_.format(); }
    std::size_t size() const override { return indices_.size(); }
    int label(std::size_t index) const override { return base_.label(indices_.at(index)); }
    const std::vector<std::string> &classNames() const override { return base_.classNames(); }
    RawImage image(std::size_t index) const override { return base_.image(indices_.at(index)); }
    std::string itemName(std::size_t index) const override { return base_.itemName(indices_.at(index)); }
    std::string describe() const override
    {
        return name_ + ": " + std::to_string(indices_.size()) + " images of " + base_.describe();
    }

private:
    const Dataset &base_;
    std::vector<std::size_t> indices_;
    std::string name_;
};

QString q(const std::string &s) { return QString::fromStdString(s); }

// A file name part from free text: letters, digits, '.', '-' kept, everything else '_'.
std::string fileSafe(const std::string &s)
{
    std::string out = s;
    for (char &c : out)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-')
            c = '_';
    return out;
}

} // namespace

ValidationUses validationUses(const std::vector<std::size_t> &validation, std::size_t calibration, std::size_t checkFrom,
                              std::size_t check)
{
    if (calibration > validation.size() || checkFrom + check > validation.size())
        throw Error("validation split: " + std::to_string(validation.size()) + " images cannot hold " +
                    std::to_string(calibration) + " calibration images and " + std::to_string(check) +
                    " check images from image " + std::to_string(checkFrom));
    ValidationUses uses;
    uses.calibration.assign(validation.begin(), validation.begin() + std::ptrdiff_t(calibration));
    uses.check.assign(validation.begin() + std::ptrdiff_t(checkFrom), validation.begin() + std::ptrdiff_t(checkFrom + check));
    return uses;
}

std::unique_ptr<Dataset> subsetOf(const Dataset &base, std::vector<std::size_t> indices, const std::string &name)
{
    return std::make_unique<SubsetDataset>(base, std::move(indices), name);
}

RunCache::RunCache(std::string folder) : folder_(std::move(folder))
{
    if (!QDir().mkpath(q(folder_)))
        throw Error(folder_ + ": cannot create the results folder");
}

std::string RunCache::pathFor(const std::string &model, const std::string &method, const std::string &point,
                              std::uint64_t seed) const
{
    return folder_ + "/" + fileSafe(model) + "__" + fileSafe(method) + "__" + fileSafe(point) + "__seed" +
           std::to_string(seed) + ".json";
}

bool RunCache::find(const std::string &model, const std::string &method, const std::string &point, std::uint64_t seed,
                    const std::string &settings, RunRecord &out) const
{
    const std::string path = pathFor(model, method, point, seed);
    QFile f(q(path));
    if (!f.exists())
        return false;
    if (!f.open(QIODevice::ReadOnly))
        throw Error(path + ": cannot read the cached run (" + f.errorString().toStdString() + ")");
    QJsonParseError error{};
    const auto doc = QJsonDocument::fromJson(f.readAll(), &error);
    if (!doc.isObject())
        throw Error(path + ": not a cached run (" + error.errorString().toStdString() + "); delete it to run it again");
    const QJsonObject o = doc.object();
    for (const char *key : {"top1", "nonzeros_per_image", "validation_top1", "settings"})
        if (!o.contains(QString::fromUtf8(key)))
            throw Error(path + ": the cached run has no '" + key + "'; delete it to run it again");
    if (o.value(QStringLiteral("settings")).toString() != q(settings))
        return false;
    auto n = [&](const char *key) { return o.value(QString::fromUtf8(key)).toDouble(); };
    out.model = model;
    out.method = method;
    out.point = point;
    out.seed = seed;
    out.settings = settings;
    out.validationTop1 = n("validation_top1");
    out.validationSparsity = n("validation_sparsity");
    out.top1 = n("top1");
    out.activationSparsity = n("activation_sparsity");
    out.nonzerosPerImage = n("nonzeros_per_image");
    out.latencySeconds = n("latency_s");
    out.fps = n("fps");
    out.energyPerFrameJ = n("energy_per_frame_j");
    out.seconds = n("seconds");
    return true;
}

void RunCache::store(const RunRecord &r) const
{
    const QJsonObject o{{QStringLiteral("model"), q(r.model)},
                        {QStringLiteral("method"), q(r.method)},
                        {QStringLiteral("point"), q(r.point)},
                        {QStringLiteral("seed"), double(r.seed)},
                        {QStringLiteral("settings"), q(r.settings)},
                        {QStringLiteral("validation_top1"), r.validationTop1},
                        {QStringLiteral("validation_sparsity"), r.validationSparsity},
                        {QStringLiteral("top1"), r.top1},
                        {QStringLiteral("activation_sparsity"), r.activationSparsity},
                        {QStringLiteral("nonzeros_per_image"), r.nonzerosPerImage},
                        {QStringLiteral("latency_s"), r.latencySeconds},
                        {QStringLiteral("fps"), r.fps},
                        {QStringLiteral("energy_per_frame_j"), r.energyPerFrameJ},
                        {QStringLiteral("seconds"), r.seconds}};
    const std::string path = pathFor(r.model, r.method, r.point, r.seed);
    QSaveFile f(q(path));
    if (!f.open(QIODevice::WriteOnly))
        throw Error(path + ": cannot write the run (" + f.errorString().toStdString() + ")");
    f.write(QJsonDocument(o).toJson());
    if (!f.commit())
        throw Error(path + ": cannot save the run (" + f.errorString().toStdString() + ")");
}

RunRecord RunCache::getOrRun(const std::string &model, const std::string &method, const std::string &point, std::uint64_t seed,
                             const std::string &settings, const std::function<RunRecord()> &run, bool *skipped) const
{
    RunRecord r;
    const bool cached = find(model, method, point, seed, settings, r);
    if (skipped)
        *skipped = cached;
    if (cached)
        return r;
    r = run();
    r.model = model;
    r.method = method;
    r.point = point;
    r.seed = seed;
    r.settings = settings;
    store(r);
    return r;
}

std::vector<FrontPoint> frontOf(const std::vector<RunRecord> &runs, const std::vector<RunRecord> &baselines)
{
    std::map<std::uint64_t, const RunRecord *> baselineOf;
    for (const auto &b : baselines)
        baselineOf[b.seed] = &b;
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::pair<const RunRecord *, const RunRecord *>>> byPoint;
    for (const auto &r : runs) {
        const auto b = baselineOf.find(r.seed);
        if (b == baselineOf.end())
            continue;
        if (!byPoint.count(r.point))
            order.push_back(r.point);
        byPoint[r.point].emplace_back(&r, b->second);
    }
    auto meanStd = [](const std::vector<double> &v, double &mean, double &sd) {
        mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
        double ss = 0.0;
        for (double x : v)
            ss += (x - mean) * (x - mean);
        sd = v.size() > 1 ? std::sqrt(ss / double(v.size() - 1)) : 0.0; // sample standard deviation
    };
    std::vector<FrontPoint> front;
    for (const auto &name : order) {
        const auto &pairs = byPoint[name];
        FrontPoint p;
        p.point = name;
        p.seeds = int(pairs.size());
        std::vector<double> delta, removed;
        for (const auto &[r, b] : pairs) {
            delta.push_back(r->top1 - b->top1);
            removed.push_back(b->nonzerosPerImage > 0 ? 1.0 - r->nonzerosPerImage / b->nonzerosPerImage : 0.0);
            p.latencySeconds += r->latencySeconds / double(pairs.size());
            p.fps += r->fps / double(pairs.size());
            p.energyPerFrameJ += r->energyPerFrameJ / double(pairs.size());
        }
        meanStd(delta, p.deltaTop1Mean, p.deltaTop1Std);
        meanStd(removed, p.removedMean, p.removedStd);
        front.push_back(p);
    }
    return front;
}

EqualLoss atEqualLoss(const std::vector<FrontPoint> &front, double lossPp)
{
    std::vector<FrontPoint> sorted = front;
    std::sort(sorted.begin(), sorted.end(),
              [](const FrontPoint &a, const FrontPoint &b) { return -a.deltaTop1Mean < -b.deltaTop1Mean; });
    std::vector<FrontPoint> envelope; // increasing loss and increasing removal
    for (const auto &p : sorted)
        if (envelope.empty() || p.removedMean > envelope.back().removedMean)
            envelope.push_back(p);
    EqualLoss e;
    if (envelope.empty() || -envelope.front().deltaTop1Mean > lossPp)
        return e;
    e.valid = true;
    auto take = [&](const FrontPoint &a, const FrontPoint &b, double w) {
        e.removed = a.removedMean + w * (b.removedMean - a.removedMean);
        e.latencySeconds = a.latencySeconds + w * (b.latencySeconds - a.latencySeconds);
        e.fps = a.fps + w * (b.fps - a.fps);
        e.energyPerFrameJ = a.energyPerFrameJ + w * (b.energyPerFrameJ - a.energyPerFrameJ);
    };
    for (std::size_t i = 0; i + 1 < envelope.size(); ++i) {
        const double l0 = -envelope[i].deltaTop1Mean, l1 = -envelope[i + 1].deltaTop1Mean;
        if (lossPp >= l0 && lossPp <= l1) {
            take(envelope[i], envelope[i + 1], l1 > l0 ? (lossPp - l0) / (l1 - l0) : 1.0);
            return e;
        }
    }
    take(envelope.back(), envelope.back(), 0.0);
    return e;
}

} // namespace sparsity
