#include "hardware/processorpreset.h"

#include "error.h"
#include "io/boundedread.h"

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

const char *jsonTypeName(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Null: return "null";
    case QJsonValue::Bool: return "a boolean";
    case QJsonValue::Double: return "a number";
    case QJsonValue::String: return "a string";
    case QJsonValue::Array: return "an array";
    case QJsonValue::Object: return "an object";
    case QJsonValue::Undefined: return "nothing";
    }
    return "?";
}

class Reader {
public:
    Reader(const QJsonObject &parameters, const std::string &origin, ProcessorParams &out)
        : parameters_(parameters), origin_(origin), out_(out)
    {
    }

    double number(const char *key)
    {
        const QString k = QString::fromLatin1(key);
        const std::string where = origin_ + ": field 'parameters." + key + "'";
        if (!parameters_.contains(k))
            throw Error(where + " is missing");
        QJsonValue v = parameters_.value(k);
        if (v.isObject()) {
            const QJsonObject o = v.toObject();
            if (!o.contains(QStringLiteral("value")))
                throw Error(where + " has no \"value\"");
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
                out_.notes.push_back(std::move(note));
            v = o.value(QStringLiteral("value"));
        }
        if (!v.isDouble())
            throw Error(where + " must be a number, found " + jsonTypeName(v));
        const double x = v.toDouble();
        if (!std::isfinite(x) || x < 0.0)
            throw Error(where + " must be >= 0, found " + std::to_string(x));
        return x;
    }

    std::int64_t integer(const char *key)
    {
        const double x = number(key);
        if (x != std::floor(x) || x > 9.0e15)
            throw Error(origin_ + ": field 'parameters." + key + "' must be a whole number, found " + std::to_string(x));
        return std::int64_t(x);
    }

private:
    QJsonObject parameters_;
    std::string origin_;
    ProcessorParams &out_;
};

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
    const QJsonValue format = root.value(QStringLiteral("format"));
    if (!format.isDouble() || format.toInt() != 1)
        throw Error(origin + ": field 'format' must be 1 (the only version this program reads)");
    const QJsonValue name = root.value(QStringLiteral("name"));
    if (!name.isString() || name.toString().trimmed().isEmpty())
        throw Error(origin + ": field 'name' is missing or not a non-empty string");
    p.name = name.toString().toStdString();
    p.description = root.value(QStringLiteral("description")).toString().toStdString();

    const QJsonValue mapping = root.value(QStringLiteral("mapping"));
    if (mapping.toString() == QLatin1String("resident"))
        p.mapping = Mapping::Resident;
    else if (mapping.toString() == QLatin1String("sequential"))
        p.mapping = Mapping::Sequential;
    else
        throw Error(origin + ": field 'mapping' must be \"resident\" or \"sequential\", found " +
                    (mapping.isString() ? "\"" + mapping.toString().toStdString() + "\"" : jsonTypeName(mapping)));
    const QJsonValue skips = root.value(QStringLiteral("skipsZeros"));
    if (!skips.isBool())
        throw Error(origin + ": field 'skipsZeros' must be true or false, found " + jsonTypeName(skips));
    p.skipsZeros = skips.toBool();

    const QJsonValue params = root.value(QStringLiteral("parameters"));
    if (!params.isObject())
        throw Error(origin + ": field 'parameters' is missing or not an object");
    Reader r(params.toObject(), origin, p);
    const std::int64_t cores = r.integer("cores");
    if (cores > 1000000000)
        throw Error(origin + ": field 'parameters.cores' is too large: " + std::to_string(cores));
    p.cores = int(cores);
    p.neuronsPerCore = r.integer("neuronsPerCore");
    for (const RealField &f : kRealFields)
        p.*(f.member) = r.number(f.key);
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
