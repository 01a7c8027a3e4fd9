#include "capture/capturemerge.h"

#include "error.h"

#include <QByteArray>
#include <QDataStream>
#include <QIODevice>

#include <algorithm>

namespace sparsity {

namespace {

constexpr quint32 kMagic = 0x53504331; // "SPC1"

void write(QDataStream &s, float x) { s << x; }
void write(QDataStream &s, int x) { s << qint32(x); }
void write(QDataStream &s, std::int64_t x) { s << qint64(x); }
void write(QDataStream &s, std::size_t x) { s << quint64(x); }
void write(QDataStream &s, const std::string &x) { s << QByteArray::fromStdString(x); }
void read(QDataStream &s, float &x) { s >> x; }
void read(QDataStream &s, int &x)
{
    qint32 v = 0;
    s >> v;
    x = v;
}
void read(QDataStream &s, std::int64_t &x)
{
    qint64 v = 0;
    s >> v;
    x = v;
}
void read(QDataStream &s, std::size_t &x)
{
    quint64 v = 0;
    s >> v;
    x = std::size_t(v);
}
void read(QDataStream &s, std::string &x)
{
    QByteArray v;
    s >> v;
    x = v.toStdString();
}

template <typename T>
void write(QDataStream &s, const std::vector<T> &v)
{
    s << quint64(v.size());
    for (const auto &x : v)
        write(s, x);
}

template <typename T>
void read(QDataStream &s, std::vector<T> &v)
{
    quint64 n = 0;
    s >> n;
    // Bounded by what the stream still holds, so damaged bytes cannot ask for terabytes.
    if (s.status() != QDataStream::Ok || n > quint64(s.device()->bytesAvailable()))
        throw Error("sharded capture: damaged result from another rank");
    v.resize(std::size_t(n));
    for (auto &x : v)
        read(s, x);
}

template <typename T>
void put(QDataStream &s, const std::vector<T> &v) { write(s, v); }
template <typename T>
void get(QDataStream &s, std::vector<T> &v) { read(s, v); }

} // namespace

std::string serializeCapture(const CaptureResult &r)
{
    QByteArray bytes;
    QDataStream s(&bytes, QIODevice::WriteOnly);
    s.setFloatingPointPrecision(QDataStream::DoublePrecision);
    s << kMagic << qint64(r.images) << r.labelled << qint64(r.top1Correct) << qint64(r.top5Correct);
    put(s, r.classCorrect);
    put(s, r.classTotal);
    put(s, r.predictions);
    put(s, r.indices);
    s << r.seconds << r.cancelled << quint64(r.skipped);
    put(s, r.skippedExamples);
    s << qint32(r.segmentationClasses);
    put(s, r.confusion);
    s << quint64(r.sites.size());
    for (const auto &site : r.sites) {
        s << qint64(site.elements) << qint64(site.zeros) << qint64(site.negatives) << qint64(site.images) << site.sum;
        s.setFloatingPointPrecision(QDataStream::SinglePrecision);
        s << site.min << site.max;
        s.setFloatingPointPrecision(QDataStream::DoublePrecision);
        put(s, site.channelNonzero);
        put(s, site.positive.counts());
        put(s, site.spatialNonzero);
    }
    s << quint64(r.kept.size());
    s.setFloatingPointPrecision(QDataStream::SinglePrecision);
    for (const auto &k : r.kept) {
        s << quint64(k.datasetIndex) << qint32(k.label);
        put(s, k.input);
        put(s, k.inputShape);
        put(s, k.siteMaps);
    }
    return bytes.toStdString();
}

CaptureResult deserializeCapture(const std::string &text)
{
    const QByteArray bytes = QByteArray::fromRawData(text.data(), qsizetype(text.size()));
    QDataStream s(bytes);
    s.setFloatingPointPrecision(QDataStream::DoublePrecision);
    CaptureResult r;
    quint32 magic = 0;
    qint64 images = 0, top1 = 0, top5 = 0;
    quint64 skipped = 0, sites = 0, kept = 0;
    qint32 classes = 0;
    s >> magic;
    if (magic != kMagic)
        throw Error("sharded capture: another rank sent something that is not a capture result");
    s >> images >> r.labelled >> top1 >> top5;
    r.images = images;
    r.top1Correct = top1;
    r.top5Correct = top5;
    get(s, r.classCorrect);
    get(s, r.classTotal);
    get(s, r.predictions);
    get(s, r.indices);
    s >> r.seconds >> r.cancelled >> skipped;
    r.skipped = std::size_t(skipped);
    get(s, r.skippedExamples);
    s >> classes;
    r.segmentationClasses = classes;
    get(s, r.confusion);
    s >> sites;
    if (s.status() != QDataStream::Ok || sites > quint64(bytes.size()))
        throw Error("sharded capture: damaged result from another rank");
    r.sites.resize(std::size_t(sites));
    for (auto &site : r.sites) {
        qint64 elements = 0, zeros = 0, negatives = 0, siteImages = 0;
        s >> elements >> zeros >> negatives >> siteImages >> site.sum;
        site.elements = elements;
        site.zeros = zeros;
        site.negatives = negatives;
        site.images = siteImages;
        s.setFloatingPointPrecision(QDataStream::SinglePrecision);
        s >> site.min >> site.max;
        s.setFloatingPointPrecision(QDataStream::DoublePrecision);
        get(s, site.channelNonzero);
        std::vector<std::int64_t> counts;
        get(s, counts);
        if (counts.size() != std::size_t(LogHistogram::kBinCount))
            throw Error("sharded capture: another rank's histogram has " + std::to_string(counts.size()) + " bins");
        for (int b = 0; b < LogHistogram::kBinCount; ++b)
            site.positive.addToBin(b, counts[std::size_t(b)]);
        get(s, site.spatialNonzero);
    }
    s >> kept;
    if (s.status() != QDataStream::Ok || kept > quint64(bytes.size()))
        throw Error("sharded capture: damaged result from another rank");
    r.kept.resize(std::size_t(kept));
    s.setFloatingPointPrecision(QDataStream::SinglePrecision);
    for (auto &k : r.kept) {
        quint64 index = 0;
        qint32 label = 0;
        s >> index >> label;
        k.datasetIndex = std::size_t(index);
        k.label = label;
        get(s, k.input);
        get(s, k.inputShape);
        get(s, k.siteMaps);
    }
    if (s.status() != QDataStream::Ok || !s.atEnd())
        throw Error("sharded capture: damaged result from another rank");
    return r;
}

CaptureResult mergeCaptures(const std::vector<CaptureResult> &parts)
{
    CaptureResult r;
    if (parts.empty())
        return r;
    r.labelled = parts.front().labelled;
    r.segmentationClasses = parts.front().segmentationClasses;
    auto addInto = [](std::vector<std::int64_t> &to, const std::vector<std::int64_t> &from) {
        if (to.size() < from.size())
            to.resize(from.size(), 0);
        for (std::size_t i = 0; i < from.size(); ++i)
            to[i] += from[i];
    };
    for (const auto &p : parts) {
        if (r.sites.size() < p.sites.size())
            r.sites.resize(p.sites.size());
        for (std::size_t i = 0; i < p.sites.size(); ++i)
            r.sites[i].merge(p.sites[i]);
        r.images += p.images;
        r.labelled = r.labelled && p.labelled;
        r.top1Correct += p.top1Correct;
        r.top5Correct += p.top5Correct;
        addInto(r.classCorrect, p.classCorrect);
        addInto(r.classTotal, p.classTotal);
        r.predictions.insert(r.predictions.end(), p.predictions.begin(), p.predictions.end());
        r.indices.insert(r.indices.end(), p.indices.begin(), p.indices.end());
        r.kept.insert(r.kept.end(), p.kept.begin(), p.kept.end());
        r.seconds = std::max(r.seconds, p.seconds);
        r.cancelled = r.cancelled || p.cancelled;
        r.skipped += p.skipped;
        r.skippedExamples.insert(r.skippedExamples.end(), p.skippedExamples.begin(), p.skippedExamples.end());
        r.segmentationClasses = std::max(r.segmentationClasses, p.segmentationClasses);
        addInto(r.confusion, p.confusion);
    }
    return r;
}

} // namespace sparsity
