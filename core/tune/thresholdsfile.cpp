#include "tune/thresholdsfile.h"

#include "error.h"
#include "io/boundedread.h"

#include <QByteArray>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <cfloat>
#include <cmath>

namespace sparsity {

namespace {

[[noreturn]] void fail(const std::string &origin, const std::string &what)
{
    throw Error("thresholds file " + origin + ": " + what);
}


QString q(const char *s) { return QString::fromUtf8(s); }

double thresholdValue(const QJsonValue &v, const std::string &origin, const std::string &field)
{
    if (!v.isDouble() || !std::isfinite(v.toDouble()))
        fail(origin, "the field \"" + field + "\" must be a finite number");
    if (v.toDouble() < 0.0)
        fail(origin, "the field \"" + field + "\" is negative (" + std::to_string(v.toDouble()) + "); thresholds are >= 0");
    if (v.toDouble() > double(FLT_MAX)) // it would become +inf as a float (and be exported as null)
        fail(origin, "the field \"" + field + "\" is " + QString::number(v.toDouble()).toStdString() +
                         ", beyond the largest float threshold (" + QString::number(double(FLT_MAX)).toStdString() + ")");
    return v.toDouble();
}

} // namespace

ThresholdsFile parseThresholdsFile(const QByteArray &json, const std::string &origin)
{
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        fail(origin, "not valid JSON (" + error.errorString().toStdString() + " at byte " + std::to_string(error.offset) + ")");
    if (!doc.isObject())
        fail(origin, "the top level must be a JSON object");
    const QJsonObject root = doc.object();
    if (!root.contains(q("schema")))
        fail(origin, "the field \"schema\" is missing; expected \"" + std::string(kThresholdsSchema) + "\"");
    const QString schema = root.value(q("schema")).toString();
    if (schema != q(kThresholdsSchema))
        fail(origin, "\"schema\" is \"" + schema.toStdString() + "\", expected \"" + kThresholdsSchema +
                         "\": this is not a thresholds file");
    const QJsonValue version = root.value(q("version"));
    if (!version.isDouble())
        fail(origin, "the field \"version\" is missing or not a number");
    if (version.toDouble() != double(kThresholdsVersion))
        fail(origin, "version " + QString::number(version.toDouble()).toStdString() +
                         " is not supported (this program reads version " + std::to_string(kThresholdsVersion) + ")");

    ThresholdsFile f;
    if (root.contains(q("model"))) {
        if (!root.value(q("model")).isString())
            fail(origin, "the field \"model\" must be a string");
        f.model = root.value(q("model")).toString().toStdString();
    }
    if (!root.contains(q("thresholds")))
        fail(origin, "the field \"thresholds\" is missing");
    if (!root.value(q("thresholds")).isObject())
        fail(origin, "the field \"thresholds\" must be an object {site name: threshold}");
    const QJsonObject thresholds = root.value(q("thresholds")).toObject();
    for (auto it = thresholds.begin(); it != thresholds.end(); ++it) {
        const std::string name = it.key().toStdString();
        f.thresholds[name] = thresholdValue(it.value(), origin, "thresholds." + name);
    }
    if (root.contains(q("channel_thresholds"))) {
        if (!root.value(q("channel_thresholds")).isObject())
            fail(origin, "the field \"channel_thresholds\" must be an object {site name: [threshold per channel]}");
        const QJsonObject channels = root.value(q("channel_thresholds")).toObject();
        for (auto it = channels.begin(); it != channels.end(); ++it) {
            const std::string name = it.key().toStdString();
            if (!it.value().isArray())
                fail(origin, "the field \"channel_thresholds." + name + "\" must be an array of numbers");
            std::vector<double> values;
            const QJsonArray array = it.value().toArray();
            for (qsizetype i = 0; i < array.size(); ++i)
                values.push_back(thresholdValue(array.at(i), origin, "channel_thresholds." + name + "[" + std::to_string(i) + "]"));
            f.channelThresholds[name] = std::move(values);
        }
    }
    if (root.contains(q("provenance"))) {
        if (!root.value(q("provenance")).isObject())
            fail(origin, "the field \"provenance\" must be an object");
        f.provenanceJson = QJsonDocument(root.value(q("provenance")).toObject()).toJson(QJsonDocument::Compact).toStdString();
    }
    return f;
}

ThresholdsFile loadThresholdsFile(const std::string &path)
{
    return parseThresholdsFile(QByteArray::fromStdString(readBoundedText(path, limits::kSettingsFileBytes, "thresholds file")),
                               path);
}

QByteArray thresholdsFileToJson(const ThresholdsFile &f)
{
    QJsonObject thresholds, channels;
    for (const auto &[name, value] : f.thresholds)
        thresholds.insert(QString::fromStdString(name), value);
    for (const auto &[name, values] : f.channelThresholds) {
        QJsonArray a;
        for (double v : values)
            a.append(v);
        channels.insert(QString::fromStdString(name), a);
    }
    QJsonObject root{{q("schema"), q(kThresholdsSchema)},
                     {q("version"), kThresholdsVersion},
                     {q("model"), QString::fromStdString(f.model)},
                     {q("thresholds"), thresholds}};
    if (!channels.isEmpty())
        root.insert(q("channel_thresholds"), channels);
    if (!f.provenanceJson.empty())
        root.insert(q("provenance"), QJsonDocument::fromJson(QByteArray::fromStdString(f.provenanceJson)).object());
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

void saveThresholdsFile(const ThresholdsFile &f, const std::string &path)
{
    QSaveFile file(QFileInfo(QString::fromStdString(path)).absoluteFilePath());
    if (!file.open(QIODevice::WriteOnly))
        fail(path, "cannot be written (" + file.errorString().toStdString() + ")");
    const QByteArray json = thresholdsFileToJson(f);
    if (file.write(json) != json.size() || !file.commit())
        fail(path, "could not be saved (" + file.errorString().toStdString() + "); any previous file is unchanged");
}

} // namespace sparsity
