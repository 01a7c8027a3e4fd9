#include "hardware/processorpreset.h"

#include "error.h"
#include "io/boundedread.h"
#include "jsonreader.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

#include <cmath>

namespace sparsity {

namespace {

struct RealField {
    const char *key;
    double ProcessorParams::*member;
};

// Every real-valued parameter, in file order. Range checks beyond ">= 0" live in validate().
const RealField kRealFields[] = {
    {"clockHz", &ProcessorParams::clockHz},
    {"synopsPerCorePerCycle", &ProcessorParams::synopsPerCorePerCycle},
    {"cyclesPerEvent", &ProcessorParams::cyclesPerEvent},
    {"cyclesPerNeuronUpdate", &ProcessorParams::cyclesPerNeuronUpdate},
    {"cyclesPerHop", &ProcessorParams::cyclesPerHop},
    {"averageHops", &ProcessorParams::averageHops},
    {"reloadWordsPerCycle", &ProcessorParams::reloadWordsPerCycle},
    {"memoryAccessesPerSynop", &ProcessorParams::memoryAccessesPerSynop},
    {"memoryAccessesPerEvent", &ProcessorParams::memoryAccessesPerEvent},
    {"memoryAccessesPerNeuronUpdate", &ProcessorParams::memoryAccessesPerNeuronUpdate},
    {"energyPerSynopJ", &ProcessorParams::energyPerSynopJ},
    {"energyPerEventJ", &ProcessorParams::energyPerEventJ},
    {"energyPerHopJ", &ProcessorParams::energyPerHopJ},
    {"energyPerNeuronUpdateJ", &ProcessorParams::energyPerNeuronUpdateJ},
    {"energyPerMemoryAccessJ", &ProcessorParams::energyPerMemoryAccessJ},
    {"energyPerReloadWordJ", &ProcessorParams::energyPerReloadWordJ},
    {"staticPowerW", &ProcessorParams::staticPowerW},
};

// The preset format's wording: `ORIGIN: field 'parameters.cores' is missing`.
JsonReader::Message presetMessage(const std::string &origin)
{
    return [origin](const QString &field, const QString &problem) {
        return origin + ": field '" + field.toStdString() + "' " + problem.toStdString();
    };
}

// A parameter: a number >= 0, or {"value": number, "source" | "assumption": text} whose note goes to `out`.
double parameter(const JsonReader &r, const char *key, ProcessorParams &out)
{
    const QString k = QString::fromLatin1(key);
    QJsonValue v = r.required(k);
    if (v.isObject()) {
        const QJsonObject o = v.toObject();
        if (!o.contains(QStringLiteral("value")))
            r.fail(k, QStringLiteral("has no \"value\""));
        ParamNote note;
        note.field = key;
        if (o.contains(QStringLiteral("source"))) {
            note.assumption = false;
            note.text = o.value(QStringLiteral("source")).toString().toStdString();
        } else if (o.contains(QStringLiteral("assumption"))) {
            note.assumption = true;
            note.text = o.value(QStringLiteral("assumption")).toString().toStdString();
        }
        if (!note.text.empty())
            out.notes.push_back(std::move(note));
        v = o.value(QStringLiteral("value"));
    }
    if (!v.isDouble())
        r.fail(k, QStringLiteral("must be a number, found ") + QString::fromLatin1(JsonReader::typeName(v)));
    const double x = v.toDouble();
    if (!std::isfinite(x) || x < 0.0)
        r.fail(k, QStringLiteral("must be >= 0, found ") + QString::fromStdString(std::to_string(x)));
    return x;
}

std::int64_t wholeParameter(const JsonReader &r, const char *key, ProcessorParams &out)
{
    const double x = parameter(r, key, out);
    if (x != std::floor(x) || x > 9.0e15)
        r.fail(QString::fromLatin1(key),
               QStringLiteral("must be a whole number, found ") + QString::fromStdString(std::to_string(x)));
    return std::int64_t(x);
}

QJsonValue noted(const ProcessorParams &p, const char *field, double value)
{
    const ParamNote *n = p.note(field);
    if (!n)
        return QJsonValue(value);
    QJsonObject o;
    o.insert(QStringLiteral("value"), value);
    o.insert(n->assumption ? QStringLiteral("assumption") : QStringLiteral("source"), QString::fromStdString(n->text));
    return o;
}

} // namespace

ProcessorParams parsePreset(const QByteArray &json, const std::string &origin)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        throw Error(origin + ": not valid JSON at offset " + std::to_string(parseError.offset) + ": " +
                    parseError.errorString().toStdString());
    if (!doc.isObject())
        throw Error(origin + ": expected a JSON object at the top level");
    const QJsonObject root = doc.object();

    ProcessorParams p;
    p.file = origin;
    const JsonReader top(root, presetMessage(origin));
    const QJsonValue format = root.value(QStringLiteral("format"));
    if (!format.isDouble() || format.toInt() != 1)
        top.fail(QStringLiteral("format"), QStringLiteral("must be 1 (the only version this program reads)"));
    const QJsonValue name = root.value(QStringLiteral("name"));
    if (!name.isString() || name.toString().trimmed().isEmpty())
        top.fail(QStringLiteral("name"), QStringLiteral("is missing or not a non-empty string"));
    p.name = name.toString().toStdString();
    p.description = root.value(QStringLiteral("description")).toString().toStdString();

    const QJsonValue mapping = root.value(QStringLiteral("mapping"));
    if (mapping.toString() == QLatin1String("resident"))
        p.mapping = Mapping::Resident;
    else if (mapping.toString() == QLatin1String("sequential"))
        p.mapping = Mapping::Sequential;
    else
        top.fail(QStringLiteral("mapping"), QStringLiteral("must be \"resident\" or \"sequential\", found ") +
                                                (mapping.isString() ? QLatin1Char('"') + mapping.toString() + QLatin1Char('"')
                                                                    : QString::fromLatin1(JsonReader::typeName(mapping))));
    const QJsonValue skips = root.value(QStringLiteral("skipsZeros"));
    if (!skips.isBool())
        top.fail(QStringLiteral("skipsZeros"),
                 QStringLiteral("must be true or false, found ") + QString::fromLatin1(JsonReader::typeName(skips)));
    p.skipsZeros = skips.toBool();

    if (!root.value(QStringLiteral("parameters")).isObject())
        top.fail(QStringLiteral("parameters"), QStringLiteral("is missing or not an object"));
    const JsonReader r = top.sub(QStringLiteral("parameters"));
    const std::int64_t cores = wholeParameter(r, "cores", p);
    if (cores > 1000000000)
        r.fail(QStringLiteral("cores"), QStringLiteral("is too large: ") + QString::number(cores));
    p.cores = int(cores);
    p.neuronsPerCore = wholeParameter(r, "neuronsPerCore", p);
    for (const RealField &f : kRealFields)
        p.*(f.member) = parameter(r, f.key, p);
    validate(p); // strict ranges (cores >= 1, clock > 0, ...), same wording
    return p;
}

ProcessorParams loadPreset(const QString &path)
{
    if (!path.startsWith(QLatin1Char(':'))) // a user's file: bounded, regular files only (built-ins are Qt resources)
        return parsePreset(QByteArray::fromStdString(readBoundedText(path.toStdString(), limits::kSettingsFileBytes,
                                                                     "processor preset")),
                           path.toStdString());
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw Error(path.toStdString() + ": cannot open: " + file.errorString().toStdString());
    return parsePreset(file.readAll(), path.toStdString());
}

QByteArray presetToJson(const ProcessorParams &p)
{
    QJsonObject params;
    params.insert(QStringLiteral("cores"), noted(p, "cores", double(p.cores)));
    params.insert(QStringLiteral("neuronsPerCore"), noted(p, "neuronsPerCore", double(p.neuronsPerCore)));
    for (const RealField &f : kRealFields)
        params.insert(QString::fromLatin1(f.key), noted(p, f.key, p.*(f.member)));
    QJsonObject root;
    root.insert(QStringLiteral("format"), 1);
    root.insert(QStringLiteral("name"), QString::fromStdString(p.name));
    root.insert(QStringLiteral("description"), QString::fromStdString(p.description));
    root.insert(QStringLiteral("mapping"), QString::fromLatin1(mappingName(p.mapping)));
    root.insert(QStringLiteral("skipsZeros"), p.skipsZeros);
    root.insert(QStringLiteral("parameters"), params);
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

QString builtInPresetDir()
{
    return QStringLiteral(SPARSITY_RESOURCES_DIR "/presets");
}

std::vector<PresetEntry> listPresets(const QString &userDir)
{
    std::vector<PresetEntry> out;
    auto scan = [&out](const QString &dirPath, bool builtIn) {
        if (dirPath.isEmpty())
            return;
        const QDir dir(dirPath);
        const QStringList files = dir.entryList({QStringLiteral("*.json")}, QDir::Files | QDir::Readable, QDir::Name);
        for (const QString &f : files) {
            PresetEntry e;
            e.path = dir.filePath(f);
            e.builtIn = builtIn;
            try {
                e.params = loadPreset(e.path);
                e.valid = true;
            } catch (const Error &err) {
                e.error = err.what();
            }
            out.push_back(std::move(e));
        }
    };
    scan(builtInPresetDir(), true);
    if (!userDir.isEmpty() && QFileInfo(userDir).absoluteFilePath() != QFileInfo(builtInPresetDir()).absoluteFilePath())
        scan(userDir, false);
    return out;
}

} // namespace sparsity
