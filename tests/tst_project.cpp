// The project file shared by the GUI and the CLI: round trip, relative paths, and one test row per error path.
#include "error.h"
#include "io/project.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <functional>

using namespace sparsity;

namespace {

Project richProject(const QString &dir)
{
    Project p;
    p.modelPath = dir + QStringLiteral("/models/net.pt");
    p.datasetPath = dir + QStringLiteral("/data/cifar");
    p.split = Split::Train;
    p.subset = SubsetSpec{SubsetSpec::Mode::Stratified, 512, 7};
    p.hasPreprocessing = true;
    p.preprocessing = Preprocessing::imagenet224();
    p.preprocessing.horizontalFlip = true;
    p.preprocessing.randomCropPadding = 4;
    p.thresholds = {{QStringLiteral("layer1.0.relu"), 0.125}, {QStringLiteral("layer1.0.relu#2"), 0.5}};
    p.channelThresholds = {{QStringLiteral("layer2.0.relu"), {0.1, 0.2, 0.3}}};
    p.scope = {QStringLiteral("layer1.0.relu"), QStringLiteral("layer2.0.relu")};
    p.bands = {{QStringLiteral("layer1.0.relu"), 0.25}};
    p.recipe = QJsonObject{{QStringLiteral("lambda"), 1e-5}, {QStringLiteral("epochs"), 3}};
    p.processorPreset = QStringLiteral("neuronflow-28nm");
    return p;
}

QByteArray validJson()
{
    return QByteArrayLiteral(R"({"schema": "sparsity-explorer/project", "version": 1, "model": "m.pt",
        "dataset": {"path": "data", "split": "test", "subset": {"mode": "first", "count": 10}}})");
}

// validJson() with one top-level or nested field replaced (or removed when `value` is undefined).
QByteArray withField(const QStringList &path, const QJsonValue &value)
{
    QJsonObject root = QJsonDocument::fromJson(validJson()).object();
    std::function<QJsonObject(QJsonObject, int)> set = [&](QJsonObject o, int depth) {
        const QString &key = path[depth];
        if (depth + 1 == path.size()) {
            if (value.isUndefined())
                o.remove(key);
            else
                o.insert(key, value);
        } else {
            o.insert(key, set(o.value(key).toObject(), depth + 1));
        }
        return o;
    };
    return QJsonDocument(set(root, 0)).toJson();
}

} // namespace

class TestProject : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTripKeepsEverything()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const Project p = richProject(dir.path());
        const QString file = dir.filePath(QStringLiteral("a.sparsity.json"));
        saveProject(p, file);
        const Project back = loadProject(file);
        QCOMPARE(back.modelPath, p.modelPath);
        QCOMPARE(back.datasetPath, p.datasetPath);
        QVERIFY(back.preprocessing == p.preprocessing);
        QCOMPARE(back.thresholds, p.thresholds);
        QCOMPARE(back.channelThresholds.value(QStringLiteral("layer2.0.relu")).size(), 3);
        QCOMPARE(back.scope, p.scope);
        QCOMPARE(back.recipe, p.recipe);
        QVERIFY(back.subset == p.subset);
        QVERIFY(back.split == Split::Train);
        // Channel thresholds go through float: compare with a tolerance, then the rest exactly.
        for (int c = 0; c < 3; ++c)
            QVERIFY(std::abs(back.channelThresholds.value(QStringLiteral("layer2.0.relu"))[c] -
                             p.channelThresholds.value(QStringLiteral("layer2.0.relu"))[c]) < 1e-6);
        Project same = back;
        same.channelThresholds = p.channelThresholds;
        QVERIFY(same == p);
    }

    void tunedWeightsAndHeatmapImagesRoundTrip()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        Project p = richProject(dir.path());
        const QString file = dir.filePath(QStringLiteral("a.sparsity.json"));
        // Absent by default: a project without them does not mention them.
        saveProject(p, file);
        QFile plain(file);
        QVERIFY(plain.open(QIODevice::ReadOnly));
        const QJsonObject plainRoot = QJsonDocument::fromJson(plain.readAll()).object();
        QVERIFY(!plainRoot.contains(QStringLiteral("weights")));
        QVERIFY(!plainRoot.contains(QStringLiteral("heatmap_images")));
        QVERIFY(loadProject(file).weightsPath.isEmpty());

        p.weightsPath = dir.filePath(QStringLiteral("a.weights.pt"));
        p.heatmapImages = {17, 5, 1234};
        QFile weights(p.weightsPath);
        QVERIFY(weights.open(QIODevice::WriteOnly));
        weights.write("stand-in: the project only checks that the file is there");
        weights.close();
        saveProject(p, file);
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject root = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(root.value(QStringLiteral("weights")).toString(), QStringLiteral("a.weights.pt")); // beside the project
        QCOMPARE(root.value(QStringLiteral("heatmap_images")).toArray(), (QJsonArray{17, 5, 1234}));
        QCOMPARE(root.value(QStringLiteral("version")).toInt(), 1);
        Project back = loadProject(file);
        QCOMPARE(back.weightsPath, p.weightsPath);
        QVERIFY(back.heatmapImages == p.heatmapImages);
        back.channelThresholds = p.channelThresholds; // through float, compared in roundTripKeepsEverything
        QVERIFY(back == p);
    }

    void missingWeightsFileIsAClearError()
    {
        QTemporaryDir dir;
        Project p = richProject(dir.path());
        p.weightsPath = dir.filePath(QStringLiteral("gone.weights.pt"));
        const QString file = dir.filePath(QStringLiteral("tuned.json"));
        saveProject(p, file);
        try {
            loadProject(file);
            QFAIL("loadProject accepted a project whose weights file is missing");
        } catch (const Error &e) {
            const QString message = QString::fromStdString(e.what());
            QVERIFY2(message.contains(QStringLiteral("tuned.json")), qPrintable(message));
            QVERIFY2(message.contains(QStringLiteral("gone.weights.pt")), qPrintable(message));
            QVERIFY2(message.contains(QStringLiteral("does not exist")), qPrintable(message));
        }
    }

    void pathsAreStoredRelativeWhenClose()
    {
        QTemporaryDir dir;
        const QString projectDir = dir.filePath(QStringLiteral("work/projects"));
        QVERIFY(QDir().mkpath(projectDir));
        Project p = richProject(dir.path() + QStringLiteral("/work")); // one level up from the project
        p.datasetPath = QStringLiteral("/opt/far/away/data");          // far: stays absolute
        const QString file = projectDir + QStringLiteral("/p.json");
        saveProject(p, file);
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject root = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(root.value(QStringLiteral("model")).toString(), QStringLiteral("../models/net.pt"));
        QCOMPARE(root.value(QStringLiteral("dataset")).toObject().value(QStringLiteral("path")).toString(),
                 QStringLiteral("/opt/far/away/data"));
        // Moving the whole tree keeps the relative path working.
        const QString moved = dir.filePath(QStringLiteral("moved"));
        QVERIFY(QDir().rename(dir.filePath(QStringLiteral("work")), moved));
        const Project back = loadProject(moved + QStringLiteral("/projects/p.json"));
        QCOMPARE(back.modelPath, moved + QStringLiteral("/models/net.pt"));
    }

    void colonNamesAreFilesBesideTheProject()
    {
        // Qt reads ":d" as a resource path; in a project it is the file ":d" beside it, and it survives a save.
        const QString path = QStringLiteral("/somewhere/projects/p.json");
        const Project p = parseProject(R"({"schema": "sparsity-explorer/project", "version": 1, "model": ":m.pt",
                                          "dataset": {"path": ":d", "split": "test", "subset": {"mode": "first", "count": 10}}})",
                                       path);
        QCOMPARE(p.modelPath, QStringLiteral("/somewhere/projects/:m.pt"));
        QCOMPARE(p.datasetPath, QStringLiteral("/somewhere/projects/:d"));
        QCOMPARE(parseProject(projectToJson(p, path), path), p);
    }

    void sampleProjectPointsAtTheSampleData()
    {
        const Project p = sampleProject();
        QVERIFY(QFile::exists(p.modelPath));
        QVERIFY(QFileInfo(p.datasetPath).isDir());
        QCOMPARE(p.subset.count, std::size_t(2000));
        QVERIFY(p.split == Split::Test);
        QVERIFY(p.hasPreprocessing);
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("sample.json"));
        saveProject(p, file);
        QVERIFY(loadProject(file) == p);
    }

    void minimalProjectUsesDefaults()
    {
        const Project p = parseProject(validJson(), QStringLiteral("/x/y/p.json"));
        QCOMPARE(p.modelPath, QStringLiteral("/x/y/m.pt"));
        QCOMPARE(p.datasetPath, QStringLiteral("/x/y/data"));
        QVERIFY(!p.hasPreprocessing);
        QVERIFY(p.thresholds.isEmpty());
        QCOMPARE(p.subset.count, std::size_t(10));
    }

    void errorsNameFileAndProblem_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not json") << QByteArrayLiteral("{\"schema\": ") << QStringLiteral("not valid JSON");
        QTest::newRow("array") << QByteArrayLiteral("[1]") << QStringLiteral("must be a JSON object");
        QTest::newRow("wrong schema") << withField({QStringLiteral("schema")}, QStringLiteral("other/thing"))
                                      << QStringLiteral("not a Sparsity Explorer project");
        QTest::newRow("no schema") << withField({QStringLiteral("schema")}, QJsonValue::Undefined)
                                   << QStringLiteral("\"schema\" is missing");
        QTest::newRow("future version") << withField({QStringLiteral("version")}, 2) << QStringLiteral("version 2");
        QTest::newRow("version text") << withField({QStringLiteral("version")}, QStringLiteral("1"))
                                      << QStringLiteral("\"version\" must be a finite number");
        QTest::newRow("no model") << withField({QStringLiteral("model")}, QJsonValue::Undefined)
                                  << QStringLiteral("\"model\" is missing");
        QTest::newRow("empty model") << withField({QStringLiteral("model")}, QString())
                                     << QStringLiteral("\"model\" is empty");
        QTest::newRow("no dataset") << withField({QStringLiteral("dataset")}, QJsonValue::Undefined)
                                    << QStringLiteral("\"dataset\" is missing");
        QTest::newRow("bad split") << withField({QStringLiteral("dataset"), QStringLiteral("split")}, QStringLiteral("val"))
                                   << QStringLiteral("\"dataset.split\" must be");
        QTest::newRow("no subset") << withField({QStringLiteral("dataset"), QStringLiteral("subset")}, QJsonValue::Undefined)
                                   << QStringLiteral("\"dataset.subset\" is missing");
        QTest::newRow("bad mode")
            << withField({QStringLiteral("dataset"), QStringLiteral("subset"), QStringLiteral("mode")}, QStringLiteral("all"))
            << QStringLiteral("\"dataset.subset.mode\" must be");
        QTest::newRow("zero count")
            << withField({QStringLiteral("dataset"), QStringLiteral("subset"), QStringLiteral("count")}, 0)
            << QStringLiteral("\"dataset.subset.count\" must be a whole number >= 1");
        QTest::newRow("fractional seed")
            << withField({QStringLiteral("dataset"), QStringLiteral("subset"), QStringLiteral("seed")}, 1.5)
            << QStringLiteral("\"dataset.subset.seed\" must be a whole number >= 0");
        QTest::newRow("threshold text")
            << withField({QStringLiteral("thresholds"), QStringLiteral("relu")}, QStringLiteral("x"))
            << QStringLiteral("\"thresholds.relu\" must be a finite number");
        QTest::newRow("negative threshold") << withField({QStringLiteral("thresholds"), QStringLiteral("relu")}, -1)
                                            << QStringLiteral("threshold of \"relu\" is -1; it must be from 0");
        QTest::newRow("scope not names") << withField({QStringLiteral("scope")}, QJsonArray{1, 2})
                                         << QStringLiteral("\"scope\" must be an array of site names");
        QTest::newRow("weights not text") << withField({QStringLiteral("weights")}, 3)
                                          << QStringLiteral("\"weights\" must be a string");
        QTest::newRow("weights empty") << withField({QStringLiteral("weights")}, QString())
                                       << QStringLiteral("\"weights\" is empty");
        QTest::newRow("heatmap image negative") << withField({QStringLiteral("heatmap_images")}, QJsonArray{3, -1})
                                                << QStringLiteral("\"heatmap_images\" must be an array of image indices");
        QTest::newRow("recipe not object") << withField({QStringLiteral("recipe")}, 3)
                                           << QStringLiteral("\"recipe\" must be an object");
        QTest::newRow("channel thresholds not numbers")
            << withField({QStringLiteral("channel_thresholds"), QStringLiteral("relu")}, QJsonArray{QStringLiteral("a")})
            << QStringLiteral("\"channel_thresholds.relu\" must be an array of finite numbers");
        const QJsonObject pre = QJsonObject{{QStringLiteral("channels"), 2},  {QStringLiteral("height"), 28},
                                            {QStringLiteral("width"), 28},    {QStringLiteral("resize"), QStringLiteral("exact")},
                                            {QStringLiteral("resize_to"), 0}, {QStringLiteral("center_crop"), false},
                                            {QStringLiteral("mean"), QJsonArray{0.5}}, {QStringLiteral("std"), QJsonArray{0.5}}};
        QTest::newRow("invalid preprocessing") << withField({QStringLiteral("preprocessing")}, pre)
                                               << QStringLiteral("channels must be 1 (grayscale) or 3");
        QJsonObject noStd = pre;
        noStd.insert(QStringLiteral("channels"), 1);
        noStd.remove(QStringLiteral("std"));
        QTest::newRow("preprocessing missing field") << withField({QStringLiteral("preprocessing")}, noStd)
                                                     << QStringLiteral("\"preprocessing.std\" is missing");
        QJsonObject badResize = noStd;
        badResize.insert(QStringLiteral("std"), QJsonArray{0.5});
        badResize.insert(QStringLiteral("resize"), QStringLiteral("stretch"));
        QTest::newRow("bad resize") << withField({QStringLiteral("preprocessing")}, badResize)
                                    << QStringLiteral("\"preprocessing.resize\" must be");
    }

    void errorsNameFileAndProblem()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("broken.json"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(json);
        f.close();
        try {
            loadProject(file);
            QFAIL("loadProject accepted a broken file");
        } catch (const Error &e) {
            const QString message = QString::fromStdString(e.what());
            QVERIFY2(message.contains(QStringLiteral("broken.json")), qPrintable(message));
            QVERIFY2(message.contains(expected), qPrintable(message));
        }
    }

    void missingFileIsAnError()
    {
        QVERIFY_THROWS_EXCEPTION(Error, loadProject(QStringLiteral("/nonexistent/p.json")));
    }

    void saveIsAtomicAndReportsUnwritableFolders()
    {
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("p.json"));
        saveProject(sampleProject(), file);
        QByteArray before;
        {
            QFile f(file);
            QVERIFY(f.open(QIODevice::ReadOnly));
            before = f.readAll();
        }
        // A failing save leaves no temporary file behind and the old file as it was.
        QVERIFY_THROWS_EXCEPTION(Error, saveProject(sampleProject(), dir.filePath(QStringLiteral("no/such/dir/p.json"))));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{QStringLiteral("p.json")});
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), before);
    }
};

QTEST_APPLESS_MAIN(TestProject)
#include "tst_project.moc"
