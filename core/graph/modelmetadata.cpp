#include "graph/model.h"

#include "error.h"
#include "io/boundedread.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace sparsity {

ModelMetadata parseModelMetadata(const std::string &json, const std::string &path)
{
    ModelMetadata m;
    QJsonParseError error{};
    const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(json), &error);
    if (doc.isNull() || !doc.isObject())
        throw Error(path + ": the embedded " + std::string(kModelMetadataFile) + " is not valid JSON (" + error.errorString().toStdString() + ")");
    const QJsonObject root = doc.object();
    m.present = true;
    m.json = json;
    m.name = root.value(QStringLiteral("name")).toString().toStdString();
    m.task = root.value(QStringLiteral("task")).toString(QStringLiteral("classification")).toStdString();
    const QJsonObject input = root.value(QStringLiteral("input")).toObject();
    for (const auto v : input.value(QStringLiteral("shape")).toArray())
        m.inputShape.push_back(v.toInteger());
    for (const auto v : input.value(QStringLiteral("mean")).toArray())
        m.mean.push_back(float(v.toDouble()));
    for (const auto v : input.value(QStringLiteral("std")).toArray())
        m.std.push_back(float(v.toDouble()));
    for (const auto v : root.value(QStringLiteral("classes")).toArray())
        m.classes.push_back(v.toString().toStdString());
    const QJsonObject names = root.value(QStringLiteral("graph_names")).toObject();
    for (const auto v : names.value(QStringLiteral("sites")).toArray())
        m.siteNames.push_back(v.toString().toStdString());
    for (const auto v : names.value(QStringLiteral("layers")).toArray())
        m.layerNames.push_back(v.toString().toStdString());
    m.recordedTop1 = root.value(QStringLiteral("accuracy")).toObject().value(QStringLiteral("top1_shipped_test_2000")).toDouble(-1.0);
    if (!m.inputShape.empty() && m.inputShape.size() != 3)
        throw Error(path + ": the embedded metadata gives an input shape of rank " + std::to_string(m.inputShape.size()) +
                    "; expected [channels, height, width]");
    if (!m.inputShape.empty())
        checkInputShape(m.inputShape, path + ": the embedded metadata's input shape");
    return m;
}

} // namespace sparsity
