// The thresholds file ("sparsity-explorer/thresholds" v1): round trip, atomic save, one row per error path, and
// applying a file to the sample model by site name.
#include "error.h"
#include "graph/model.h"
#include "tune/thresholdsfile.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace sparsity;

class TestThresholdsFile : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTrip()
    {
        QTemporaryDir dir;
        ThresholdsFile f;
        f.model = "net.pt";
        f.thresholds = {{"layer1.relu", 0.125}, {"layer1.relu#2", 0.5}, {"relu", 0.0}};
        f.channelThresholds = {{"layer2.relu", {0.1, 0.2, 0.3}}};
        f.provenanceJson = R"({"budget_pp":0.5,"command":"search"})";
        const std::string path = dir.filePath(QStringLiteral("t.json")).toStdString();
        saveThresholdsFile(f, path);
        const ThresholdsFile back = loadThresholdsFile(path);
        QCOMPARE(back.model, f.model);
        QVERIFY(back.thresholds == f.thresholds);
        QVERIFY(back.channelThresholds == f.channelThresholds);
        QCOMPARE(back.provenanceJson, f.provenanceJson);
    }

    void saveIntoMissingFolderFailsNamingTheFile()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath(QStringLiteral("no/such/folder/t.json")).toStdString();
        try {
            saveThresholdsFile(ThresholdsFile(), path);
            QFAIL("saved into a missing folder");
        } catch (const Error &e) {
            QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
        }
    }

    void errorsNameTheFileAndField_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not json") << QByteArray("{") << QStringLiteral("not valid JSON");
        QTest::newRow("array") << QByteArray("[]") << QStringLiteral("JSON object");
        QTest::newRow("no schema") << QByteArray(R"({"version": 1, "thresholds": {}})") << QStringLiteral("\"schema\" is missing");
        QTest::newRow("project file") << QByteArray(R"({"schema": "sparsity-explorer/project", "version": 1})")
                                      << QStringLiteral("not a thresholds file");
        QTest::newRow("future version") << QByteArray(R"({"schema": "sparsity-explorer/thresholds", "version": 2, "thresholds": {}})")
                                        << QStringLiteral("version 2 is not supported");
        QTest::newRow("no thresholds") << QByteArray(R"({"schema": "sparsity-explorer/thresholds", "version": 1})")
                                       << QStringLiteral("\"thresholds\" is missing");
        QTest::newRow("thresholds array") << QByteArray(R"({"schema": "sparsity-explorer/thresholds", "version": 1, "thresholds": [1]})")
                                          << QStringLiteral("must be an object");
        QTest::newRow("string value") << QByteArray(R"({"schema": "sparsity-explorer/thresholds", "version": 1, "thresholds": {"a": "x"}})")
                                      << QStringLiteral("\"thresholds.a\" must be a finite number");
        QTest::newRow("negative") << QByteArray(R"({"schema": "sparsity-explorer/thresholds", "version": 1, "thresholds": {"a": -1}})")
                                  << QStringLiteral("\"thresholds.a\" is negative");
        QTest::newRow("channel not array")
            << QByteArray(R"({"schema": "sparsity-explorer/thresholds", "version": 1, "thresholds": {}, "channel_thresholds": {"a": 1}})")
            << QStringLiteral("\"channel_thresholds.a\" must be an array");
        QTest::newRow("channel element")
            << QByteArray(R"({"schema": "sparsity-explorer/thresholds", "version": 1, "thresholds": {}, "channel_thresholds": {"a": [0, true]}})")
            << QStringLiteral("\"channel_thresholds.a[1]\"");
        QTest::newRow("model not string") << QByteArray(R"({"schema": "sparsity-explorer/thresholds", "version": 1, "model": 3, "thresholds": {}})")
                                          << QStringLiteral("\"model\" must be a string");
    }
    void errorsNameTheFileAndField()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, expected);
        try {
            parseThresholdsFile(json, "/some/where/t.json");
            QFAIL("accepted a bad file");
        } catch (const Error &e) {
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.contains(QStringLiteral("/some/where/t.json")), qPrintable(message));
            QVERIFY2(message.contains(expected), qPrintable(message));
        }
    }

    void appliesBySiteNameToTheSampleModel()
    {
        auto model = Model::load(SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt");
        ThresholdsFile f;
        f.thresholds = {{"layer1.relu#2", 0.25}, {"layer3.relu", 0.75}};
        f.channelThresholds = {{"relu", std::vector<double>(16, 0.5)}};
        model->setThresholds(std::vector<float>(model->sites().size(), 9.0f)); // overwritten: unnamed sites become 0
        applyThresholds(*model, f, "t.json");
        const auto t = model->thresholds();
        for (const Site &s : model->sites()) {
            const float expected = s.name == "layer1.relu#2" ? 0.25f : s.name == "layer3.relu" ? 0.75f : 0.0f;
            if (s.sparsifiable)
                QCOMPARE(t[std::size_t(s.index)], expected);
        }
        const ThresholdsFile back = thresholdsFromModel(*model);
        QCOMPARE(back.thresholds.size(), std::size_t(7));
        QCOMPARE(back.thresholds.at("layer3.relu"), 0.75);
        QCOMPARE(back.channelThresholds.at("relu"), std::vector<double>(16, 0.5)); // read back from the model
        QCOMPARE(back.model, std::string("sample-resnet.pt"));
    }

    void applyRejectsUnknownDenseAndWrongChannelCount_data()
    {
        QTest::addColumn<QString>("site");
        QTest::addColumn<int>("channels");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown") << QStringLiteral("layer9.relu") << 0 << QStringLiteral("does not have");
        QTest::newRow("dense") << QStringLiteral("input") << 0 << QStringLiteral("dense activation");
        QTest::newRow("channels") << QStringLiteral("relu") << 3 << QStringLiteral("has 3 values; the site has 16 channels");
    }
    void applyRejectsUnknownDenseAndWrongChannelCount()
    {
        QFETCH(QString, site);
        QFETCH(int, channels);
        QFETCH(QString, expected);
        auto model = Model::load(SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt");
        ThresholdsFile f;
        if (channels)
            f.channelThresholds[site.toStdString()] = std::vector<double>(std::size_t(channels), 0.1);
        else
            f.thresholds[site.toStdString()] = 0.1;
        try {
            applyThresholds(*model, f, "mine.json");
            QFAIL("applied a bad file");
        } catch (const Error &e) {
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.contains(QStringLiteral("mine.json")) && message.contains(expected), qPrintable(message));
        }
    }
};

QTEST_APPLESS_MAIN(TestThresholdsFile)
#include "tst_thresholdsfile.moc"
