#include "io/project.h"

#include "error.h"
#include "io/boundedread.h"
#include "jsonreader.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

#include <cfloat>
#include <cmath>

namespace sparsity {

namespace {

const QString kSchema = QString::fromLatin1(kProjectSchema);

[[noreturn]] void fail(const QString &path, const QString &what)
{
    throw Error(QStringLiteral("Project file %1: %2").arg(QDir::toNativeSeparators(path), what).toStdString());
}

// The project format's wording: `Project file PATH: the field "dataset.split" must be ...`.
JsonReader::Message projectMessage(const QString &path)
{
    return [path](const QString &field, const QString &problem) {
        return QStringLiteral("Project file %1: the field \"%2\" %3")
            .arg(QDir::toNativeSeparators(path), field, problem)
            .toStdString();
    };
}

QString resolve(const QString &stored, const QString &projectPath)
{
    // Qt takes ":name" for an absolute resource path; in a project it is a file beside the project (found by
    // tests/fuzz/fuzz_project.cpp: ":d" was opened in the working folder and did not survive a save).
    if (stored.isEmpty() || (QDir::isAbsolutePath(stored) && !stored.startsWith(QLatin1Char(':'))))
        return QDir::cleanPath(stored);
    return QDir::cleanPath(QFileInfo(projectPath).absoluteDir().path() + QLatin1Char('/') + stored);
}

const char *resizeName(Preprocessing::Resize r)
{
    switch (r) {
    case Preprocessing::Resize::None: return "none";
    case Preprocessing::Resize::Exact: return "exact";
    case Preprocessing::Resize::ShorterSide: return "shorter_side";
    }
    return "exact";
}

const char *modeName(SubsetSpec::Mode m)
{
    switch (m) {
    case SubsetSpec::Mode::First: return "first";
    case SubsetSpec::Mode::Random: return "random";
    case SubsetSpec::Mode::Stratified: return "stratified";
    }
    return "first";
}

QJsonArray toArray(const std::vector<float> &v)
{
    QJsonArray a;
    for (float x : v)
        a.append(double(x));
    return a;
}

QJsonObject preprocessingToJson(const Preprocessing &p)
{
    return QJsonObject{
        {QStringLiteral("channels"), p.channels},
        {QStringLiteral("height"), p.height},
        {QStringLiteral("width"), p.width},
        {QStringLiteral("resize"), QString::fromLatin1(resizeName(p.resize))},
        {QStringLiteral("resize_to"), p.resizeTo},
        {QStringLiteral("center_crop"), p.centerCrop},
        {QStringLiteral("mean"), toArray(p.mean)},
        {QStringLiteral("std"), toArray(p.std)},
        {QStringLiteral("random_crop_padding"), p.randomCropPadding},
        {QStringLiteral("horizontal_flip"), p.horizontalFlip},
    };
}

Preprocessing preprocessingFromJson(const JsonReader &r, const QString &path)
{
    Preprocessing p;
    p.channels = r.smallInteger(QStringLiteral("channels"), 1);
    p.height = r.smallInteger(QStringLiteral("height"), 1);
    p.width = r.smallInteger(QStringLiteral("width"), 1);
    const QString resize = r.string(QStringLiteral("resize"));
    if (resize == QLatin1String("none"))
        p.resize = Preprocessing::Resize::None;
    else if (resize == QLatin1String("exact"))
        p.resize = Preprocessing::Resize::Exact;
    else if (resize == QLatin1String("shorter_side"))
        p.resize = Preprocessing::Resize::ShorterSide;
    else
        r.fail(QStringLiteral("resize"),
               QStringLiteral("must be \"none\", \"exact\" or \"shorter_side\", not \"%1\"").arg(resize));
    p.resizeTo = r.smallInteger(QStringLiteral("resize_to"), 0);
    p.centerCrop = r.boolean(QStringLiteral("center_crop"));
    p.mean = r.floats(QStringLiteral("mean"));
    p.std = r.floats(QStringLiteral("std"));
    // Augmentation only matters for fine-tuning: optional so hand-written projects stay short.
    if (r.has(QStringLiteral("random_crop_padding")))
        p.randomCropPadding = r.smallInteger(QStringLiteral("random_crop_padding"), 0);
    if (r.has(QStringLiteral("horizontal_flip")))
        p.horizontalFlip = r.boolean(QStringLiteral("horizontal_flip"));
    try {
        p.validate();
    } catch (const Error &e) {
        fail(path, QString::fromStdString(e.what()));
    }
    return p;
}

QMap<QString, double> numberMap(const JsonReader &parent, const QString &key)
{
    QMap<QString, double> out;
    if (!parent.has(key))
        return out;
    const JsonReader r = parent.sub(key);
    for (auto it = r.raw().begin(); it != r.raw().end(); ++it)
        out.insert(it.key(), r.number(it.key()));
    return out;
}

} // namespace

bool Project::operator==(const Project &o) const
{
    return modelPath == o.modelPath && datasetPath == o.datasetPath && split == o.split && subset == o.subset &&
           hasPreprocessing == o.hasPreprocessing && (!hasPreprocessing || preprocessing == o.preprocessing) &&
           thresholds == o.thresholds && channelThresholds == o.channelThresholds && scope == o.scope &&
           bands == o.bands && recipe == o.recipe && processorPreset == o.processorPreset && weightsPath == o.weightsPath &&
           heatmapImages == o.heatmapImages;
}

Project sampleProject()
{
    Project p;
    p.modelPath = QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt");
    p.datasetPath = QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/fashion-mnist");
    p.split = Split::Test;
    p.subset = SubsetSpec{SubsetSpec::Mode::First, 2000, 0};
    p.hasPreprocessing = true;
    p.preprocessing = Preprocessing::mnistLike28();
    p.processorPreset = QStringLiteral("neuronflow-28nm");
    return p;
}

QString storedPath(const QString &absolutePath, const QString &projectPath)
{
    if (absolutePath.isEmpty())
        return absolutePath;
    const QString rel = QFileInfo(projectPath).absoluteDir().relativeFilePath(absolutePath);
    int ups = 0;
    for (QStringView part = rel; part.startsWith(QLatin1String("../")); part = part.mid(3))
        ++ups;
    if (QDir::isAbsolutePath(rel) || ups > 2)
        return QDir::cleanPath(absolutePath);
    return rel;
}

Project parseProject(const QByteArray &json, const QString &path)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        fail(path, QStringLiteral("not valid JSON (%1 at byte %2)").arg(error.errorString()).arg(error.offset));
    if (!doc.isObject())
        fail(path, QStringLiteral("the top level must be a JSON object"));
    const JsonReader r(doc.object(), projectMessage(path));
    const QString schema = r.string(QStringLiteral("schema"));
    if (schema != kSchema)
        fail(path, QStringLiteral("\"schema\" is \"%1\", expected \"%2\": this is not a Sparsity Explorer project")
                       .arg(schema, kSchema));
    const std::int64_t version = r.integer(QStringLiteral("version"), 1);
    if (version != kProjectVersion)
        fail(path, QStringLiteral("version %1 is not supported (this program reads version %2); use a newer program")
                       .arg(version)
                       .arg(kProjectVersion));

    Project p;
    p.modelPath = resolve(r.string(QStringLiteral("model")), path);
    if (p.modelPath.isEmpty())
        r.fail(QStringLiteral("model"), QStringLiteral("is empty"));
    const JsonReader ds = r.sub(QStringLiteral("dataset"));
    p.datasetPath = resolve(ds.string(QStringLiteral("path")), path);
    if (p.datasetPath.isEmpty())
        ds.fail(QStringLiteral("path"), QStringLiteral("is empty"));
    const QString split = ds.string(QStringLiteral("split"));
    if (split == QLatin1String("test"))
        p.split = Split::Test;
    else if (split == QLatin1String("train"))
        p.split = Split::Train;
    else
        ds.fail(QStringLiteral("split"), QStringLiteral("must be \"test\" or \"train\", not \"%1\"").arg(split));
    const JsonReader sub = ds.sub(QStringLiteral("subset"));
    const QString mode = sub.string(QStringLiteral("mode"));
    if (mode == QLatin1String("first"))
        p.subset.mode = SubsetSpec::Mode::First;
    else if (mode == QLatin1String("random"))
        p.subset.mode = SubsetSpec::Mode::Random;
    else if (mode == QLatin1String("stratified"))
        p.subset.mode = SubsetSpec::Mode::Stratified;
    else
        sub.fail(QStringLiteral("mode"), QStringLiteral("must be \"first\", \"random\" or \"stratified\", not \"%1\"").arg(mode));
    p.subset.count = std::size_t(sub.integer(QStringLiteral("count"), 1));
    p.subset.seed = sub.has(QStringLiteral("seed")) ? std::uint64_t(sub.integer(QStringLiteral("seed"), 0)) : 0;

    if (r.has(QStringLiteral("preprocessing"))) {
        p.hasPreprocessing = true;
        p.preprocessing = preprocessingFromJson(r.sub(QStringLiteral("preprocessing")), path);
    }
    p.thresholds = numberMap(r, QStringLiteral("thresholds"));
    p.bands = numberMap(r, QStringLiteral("bands"));
    // Thresholds and bands become floats: negative or beyond float's range (infinity) they are refused.
    const auto checkRange = [&](const QMap<QString, double> &values, const char *what) {
        for (auto it = values.cbegin(); it != values.cend(); ++it)
            if (it.value() < 0.0 || it.value() > double(FLT_MAX))
                fail(path, QStringLiteral("the %1 of \"%2\" is %3; it must be from 0 to %4")
                               .arg(QLatin1String(what), it.key())
                               .arg(it.value())
                               .arg(double(FLT_MAX)));
    };
    checkRange(p.thresholds, "threshold");
    checkRange(p.bands, "band");
    if (r.has(QStringLiteral("channel_thresholds"))) {
        const JsonReader ct = r.sub(QStringLiteral("channel_thresholds"));
        for (auto it = ct.raw().begin(); it != ct.raw().end(); ++it) {
            QVector<double> values;
            for (float v : ct.floats(it.key())) {
                if (v < 0.0f)
                    fail(path, QStringLiteral("the per-channel thresholds of \"%1\" include %2; thresholds are >= 0")
                                   .arg(it.key())
                                   .arg(double(v)));
                values.append(double(v));
            }
            p.channelThresholds.insert(it.key(), values);
        }
    }
    if (r.has(QStringLiteral("scope")))
        for (const QJsonValue &v : r.array(QStringLiteral("scope"))) {
            if (!v.isString())
                r.wrongType(QStringLiteral("scope"), "an array of site names");
            p.scope.append(v.toString());
        }
    if (r.has(QStringLiteral("recipe")))
        p.recipe = r.object(QStringLiteral("recipe"));
    if (r.has(QStringLiteral("processor_preset")))
        p.processorPreset = r.string(QStringLiteral("processor_preset"));
    if (r.has(QStringLiteral("weights"))) {
        p.weightsPath = resolve(r.string(QStringLiteral("weights")), path);
        if (p.weightsPath.isEmpty())
            r.fail(QStringLiteral("weights"), QStringLiteral("is empty; remove it to use the model's own weights"));
    }
    if (r.has(QStringLiteral("heatmap_images")))
        for (const QJsonValue &v : r.array(QStringLiteral("heatmap_images"))) {
            const double d = v.toDouble(-1.0);
            if (!v.isDouble() || d < 0.0 || d != std::floor(d) || d > 9.0e15)
                r.wrongType(QStringLiteral("heatmap_images"), "an array of image indices (whole numbers >= 0)");
            p.heatmapImages.push_back(std::size_t(d));
        }
    return p;
}

Project loadProject(const QString &path)
{
    const std::string bytes = readBoundedText(path.toStdString(), limits::kSettingsFileBytes, "project");
    Project p = parseProject(QByteArray::fromStdString(bytes), QFileInfo(path).absoluteFilePath());
    // Checked here rather than when the model loads: without its weights the project would silently open untuned.
    if (!p.weightsPath.isEmpty() && !QFileInfo(p.weightsPath).isFile())
        fail(path, QStringLiteral("the tuned weights file %1 (field \"weights\") does not exist; copy it next to the "
                                  "project, or remove the field to open the model untuned")
                       .arg(QDir::toNativeSeparators(p.weightsPath)));
    return p;
}

QByteArray projectToJson(const Project &p, const QString &path)
{
    QJsonObject thresholds, bands, channels;
    for (auto it = p.thresholds.cbegin(); it != p.thresholds.cend(); ++it)
        thresholds.insert(it.key(), it.value());
    for (auto it = p.bands.cbegin(); it != p.bands.cend(); ++it)
        bands.insert(it.key(), it.value());
    for (auto it = p.channelThresholds.cbegin(); it != p.channelThresholds.cend(); ++it) {
        QJsonArray a;
        for (double v : it.value())
            a.append(v);
        channels.insert(it.key(), a);
    }
    QJsonObject root{
        {QStringLiteral("schema"), kSchema},
        {QStringLiteral("version"), kProjectVersion},
        {QStringLiteral("model"), storedPath(p.modelPath, path)},
        {QStringLiteral("dataset"),
         QJsonObject{{QStringLiteral("path"), storedPath(p.datasetPath, path)},
                     {QStringLiteral("split"), p.split == Split::Test ? QStringLiteral("test") : QStringLiteral("train")},
                     {QStringLiteral("subset"),
                      QJsonObject{{QStringLiteral("mode"), QString::fromLatin1(modeName(p.subset.mode))},
                                  {QStringLiteral("count"), double(p.subset.count)},
                                  {QStringLiteral("seed"), double(p.subset.seed)}}}}},
        {QStringLiteral("thresholds"), thresholds},
        {QStringLiteral("channel_thresholds"), channels},
        {QStringLiteral("scope"), QJsonArray::fromStringList(p.scope)},
        {QStringLiteral("bands"), bands},
        {QStringLiteral("recipe"), p.recipe},
        {QStringLiteral("processor_preset"), p.processorPreset},
    };
    if (p.hasPreprocessing)
        root.insert(QStringLiteral("preprocessing"), preprocessingToJson(p.preprocessing));
    if (!p.weightsPath.isEmpty())
        root.insert(QStringLiteral("weights"), storedPath(p.weightsPath, path));
    if (!p.heatmapImages.empty()) {
        QJsonArray images;
        for (std::size_t i : p.heatmapImages)
            images.append(double(i));
        root.insert(QStringLiteral("heatmap_images"), images);
    }
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

void saveProject(const Project &project, const QString &path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QSaveFile file(absolute);
    if (!file.open(QIODevice::WriteOnly))
        fail(path, QStringLiteral("cannot be written (%1)").arg(file.errorString()));
    const QByteArray json = projectToJson(project, absolute);
    if (file.write(json) != json.size() || !file.commit())
        fail(path, QStringLiteral("could not be saved (%1); the previous file is unchanged").arg(file.errorString()));
}

} // namespace sparsity
