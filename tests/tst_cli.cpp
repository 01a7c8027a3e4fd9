// sparsity-cli end to end: every command on the sample data (small subsets), the --json report checked against
// its schema (docs/report-schema.md), usage errors -> exit 2 with usage, bad files -> exit 1 naming the file.
#include <QDir>
#include <QFile>
#include <QImage>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

namespace {

struct Run {
    int exitCode = -1;
    QByteArray out, err;
};

Run runCli(const QStringList &args, int timeoutMs = 240000)
{
    QProcess p;
    p.setProgram(QStringLiteral(SPARSITY_CLI_PATH));
    p.setArguments(args + QStringList{QStringLiteral("--threads"), QStringLiteral("2")});
    p.start();
    Run r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

// Same, without the trailing --threads (for usage-error cases that must see exactly these arguments).
Run runRaw(const QStringList &args)
{
    QProcess p;
    p.start(QStringLiteral(SPARSITY_CLI_PATH), args);
    Run r;
    p.waitForFinished(60000);
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

QString describe(const Run &r) { return QStringLiteral("exit %1\nstderr: %2").arg(r.exitCode).arg(QString::fromUtf8(r.err.right(2000))); }

// A tiny schema checker: "a.b" paths, "a[]" for every element of an array; types s(tring) n(umber) b(ool)
// o(bject) a(rray), a trailing '?' allows null.
QStringList checkFields(const QJsonObject &root, const QStringList &spec)
{
    QStringList problems;
    for (const QString &entry : spec) {
        const QStringList parts = entry.split(QLatin1Char(':'));
        const QString path = parts[0];
        QString type = parts[1];
        const bool nullable = type.endsWith(QLatin1Char('?'));
        if (nullable)
            type.chop(1);
        std::function<void(const QJsonValue &, QStringList, const QString &)> walk = [&](const QJsonValue &v, QStringList rest,
                                                                                         const QString &where) {
            if (rest.isEmpty()) {
                if (v.isNull() && nullable)
                    return;
                const bool ok = (type == QLatin1String("s") && v.isString()) || (type == QLatin1String("n") && v.isDouble()) ||
                                (type == QLatin1String("b") && v.isBool()) || (type == QLatin1String("o") && v.isObject()) ||
                                (type == QLatin1String("a") && v.isArray());
                if (!ok)
                    problems << QStringLiteral("%1: expected type %2, got %3").arg(where, type).arg(int(v.type()));
                return;
            }
            QString key = rest.takeFirst();
            const bool each = key.endsWith(QLatin1String("[]"));
            if (each)
                key.chop(2);
            if (!v.isObject() || !v.toObject().contains(key)) {
                problems << QStringLiteral("%1.%2: missing").arg(where, key);
                return;
            }
            const QJsonValue child = v.toObject().value(key);
            if (each) {
                if (!child.isArray()) {
                    problems << QStringLiteral("%1.%2: expected an array").arg(where, key);
                    return;
                }
                const QJsonArray a = child.toArray();
                if (a.isEmpty())
                    problems << QStringLiteral("%1.%2: empty array").arg(where, key);
                for (qsizetype i = 0; i < a.size(); ++i)
                    walk(a[i], rest, QStringLiteral("%1.%2[%3]").arg(where, key).arg(i));
            } else {
                walk(child, rest, where + QLatin1Char('.') + key);
            }
        };
        walk(root, path.split(QLatin1Char('.')), QStringLiteral("$"));
    }
    return problems;
}

const QStringList kHeader{QStringLiteral("schema:s"), QStringLiteral("version:n"), QStringLiteral("command:s"),
                          QStringLiteral("program.name:s"), QStringLiteral("program.version:s"),
                          QStringLiteral("model.path:s"), QStringLiteral("model.name:s"), QStringLiteral("model.input_shape:a"),
                          QStringLiteral("model.site_count:n"), QStringLiteral("model.metadata:o?")};
const QStringList kDataset{QStringLiteral("dataset.path:s"), QStringLiteral("dataset.split:s"), QStringLiteral("dataset.size:n"),
                           QStringLiteral("dataset.subset.mode:s"), QStringLiteral("dataset.subset.count:n")};
const QStringList kEvaluation{QStringLiteral("images:n"), QStringLiteral("top1:n?"), QStringLiteral("top5:n?"),
                              QStringLiteral("segmentation:o?"),
                              QStringLiteral("activation_sparsity:n"), QStringLiteral("nonzeros_per_image:n"),
                              QStringLiteral("seconds:n")};
const QStringList kSiteStats{QStringLiteral("sites[].name:s"), QStringLiteral("sites[].index:n"), QStringLiteral("sites[].sparsifiable:b"),
                             QStringLiteral("sites[].threshold:n"), QStringLiteral("sites[].sparsity:n"),
                             QStringLiteral("sites[].nonzeros_per_image:n")};

QStringList prefixed(const QString &prefix, const QStringList &fields)
{
    QStringList out;
    for (const auto &f : fields)
        out << prefix + QLatin1Char('.') + f;
    return out;
}

QJsonObject parseReport(const Run &r, const QString &command)
{
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(r.out, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) {
        qWarning("stdout is not a JSON object: %s", qPrintable(error.errorString()));
        return {};
    }
    const QJsonObject o = doc.object();
    if (o.value(QStringLiteral("schema")).toString() != QLatin1String("sparsity-explorer/cli-report") ||
        o.value(QStringLiteral("version")).toInt() != 1 || o.value(QStringLiteral("command")).toString() != command)
        return {};
    return o;
}

double siteThreshold(const QJsonObject &report, const QString &site)
{
    for (const auto v : report.value(QStringLiteral("sites")).toArray())
        if (v.toObject().value(QStringLiteral("name")).toString() == site)
            return v.toObject().value(QStringLiteral("threshold")).toDouble();
    return -1;
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT

private:
    QTemporaryDir dir_;
    QString thresholds_; // written by search, used by project/export/analyze

    QString path(const char *name) const { return dir_.filePath(QString::fromUtf8(name)); }

    void writeFile(const QString &file, const QByteArray &bytes)
    {
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(bytes);
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    // ---- usage ----
    void helpForProgramAndEachCommand_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expected");
        QTest::newRow("program") << QStringList{QStringLiteral("--help")} << QStringLiteral("Commands:");
        for (const char *c : {"inspect", "analyze", "search", "sweep", "train", "compare", "project", "export"})
            QTest::newRow(c) << QStringList{QString::fromUtf8(c), QStringLiteral("--help")}
                             << QStringLiteral("Usage: sparsity-cli ") + QString::fromUtf8(c);
    }
    void helpForProgramAndEachCommand()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, expected);
        const Run r = runRaw(args);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(QString::fromUtf8(r.out).contains(expected), r.out.constData());
        QVERIFY(QString::fromUtf8(r.out).contains(QStringLiteral("--json")) || args.size() == 1);
    }

    void badArgumentsExitTwoWithUsage_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("no command") << QStringList{} << QStringLiteral("Usage:");
        QTest::newRow("unknown command") << QStringList{QStringLiteral("frobnicate")} << QStringLiteral("frobnicate");
        QTest::newRow("unknown option") << QStringList{QStringLiteral("analyze"), QStringLiteral("--frob")} << QStringLiteral("frob");
        QTest::newRow("subset not a number") << QStringList{QStringLiteral("analyze"), QStringLiteral("--subset"), QStringLiteral("many")}
                                             << QStringLiteral("--subset");
        QTest::newRow("subset zero") << QStringList{QStringLiteral("analyze"), QStringLiteral("--subset"), QStringLiteral("0")}
                                     << QStringLiteral("--subset");
        QTest::newRow("bad split") << QStringList{QStringLiteral("analyze"), QStringLiteral("--split"), QStringLiteral("validation")}
                                   << QStringLiteral("--split");
        QTest::newRow("model without data") << QStringList{QStringLiteral("analyze"), QStringLiteral("m.pt")} << QStringLiteral("DATA");
        QTest::newRow("too many arguments") << QStringList{QStringLiteral("inspect"), QStringLiteral("a.pt"), QStringLiteral("b")}
                                            << QStringLiteral("too many");
        QTest::newRow("budget out of range") << QStringList{QStringLiteral("search"), QStringLiteral("--budget"), QStringLiteral("-1")}
                                             << QStringLiteral("--budget");
        QTest::newRow("export without -o") << QStringList{QStringLiteral("export"), QStringLiteral("--thresholds"), QStringLiteral("t.json")}
                                           << QStringLiteral("-o OUT.pt");
        QTest::newRow("unknown method") << QStringList{QStringLiteral("compare"), QStringLiteral("--methods"), QStringLiteral("relu,magic")}
                                        << QStringLiteral("magic");
        QTest::newRow("sweep with both rules") << QStringList{QStringLiteral("sweep"), QStringLiteral("--budgets"), QStringLiteral("1"),
                                                              QStringLiteral("--targets"), QStringLiteral("0.5")}
                                               << QStringLiteral("not both");
        QTest::newRow("sweep target of 1") << QStringList{QStringLiteral("sweep"), QStringLiteral("--targets"), QStringLiteral("0.5,1")}
                                           << QStringLiteral("--targets: 1.000000 is not a target sparsity");
        QTest::newRow("sweep budget not a number") << QStringList{QStringLiteral("sweep"), QStringLiteral("--budgets"), QStringLiteral("0.5,x")}
                                                   << QStringLiteral("--budgets needs numbers");
        QTest::newRow("option of another command") << QStringList{QStringLiteral("inspect"), QStringLiteral("--budget"), QStringLiteral("1")}
                                                   << QStringLiteral("budget");
    }
    void badArgumentsExitTwoWithUsage()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, mentions);
        const Run r = runRaw(args);
        QVERIFY2(r.exitCode == 2, qPrintable(describe(r)));
        const QString e = QString::fromUtf8(r.err);
        QVERIFY2(e.contains(QStringLiteral("Usage")), qPrintable(e));
        QVERIFY2(e.contains(mentions), qPrintable(e));
        QVERIFY(r.out.isEmpty());
    }

    // ---- bad files ----
    void badFilesExitOneNamingTheFile_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("problem");
        const QString missing = path("missing.pt");
        const QString corrupt = path("corrupt.pt");
        writeFile(corrupt, "this is not a zip archive");
        const QString badThresholds = path("bad-thresholds.json");
        writeFile(badThresholds, R"({"schema": "sparsity-explorer/thresholds", "version": 1, "thresholds": {"relu": "high"}})");
        const QString unknownSite = path("unknown-site.json");
        writeFile(unknownSite, R"({"schema": "sparsity-explorer/thresholds", "version": 1, "thresholds": {"no.such.site": 0.1}})");
        const QString notJson = path("not-json.json");
        writeFile(notJson, "{ thresholds");
        const QString badRecipe = path("bad-recipe.json");
        writeFile(badRecipe, R"({"schema": "sparsity-explorer/recipe", "version": 1, "method": "magic"})");
        const QString wrongSchema = path("wrong-schema.json");
        writeFile(wrongSchema, R"({"schema": "sparsity-explorer/thresholds", "version": 1, "thresholds": {}})");
        const QString badPreset = path("bad-preset.json");
        writeFile(badPreset, R"({"format": 1, "name": "x"})");
        const QString badProject = path("bad.sparsity.json");
        writeFile(badProject, R"({"schema": "sparsity-explorer/project", "version": 7})");
        const QString data = QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/fashion-mnist");

        QTest::newRow("missing model") << QStringList{QStringLiteral("inspect"), missing} << missing << QString();
        QTest::newRow("corrupt model") << QStringList{QStringLiteral("analyze"), corrupt, data} << corrupt
                                       << QStringLiteral("not a TorchScript archive");
        QTest::newRow("missing data") << QStringList{QStringLiteral("analyze"), QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt"),
                                                     path("no-such-data")}
                                      << path("no-such-data") << QString();
        QTest::newRow("mistyped threshold") << QStringList{QStringLiteral("analyze"), QStringLiteral("--subset"), QStringLiteral("8"),
                                                           QStringLiteral("--thresholds"), badThresholds}
                                            << badThresholds << QStringLiteral("thresholds.relu");
        QTest::newRow("unknown site") << QStringList{QStringLiteral("analyze"), QStringLiteral("--subset"), QStringLiteral("8"),
                                                     QStringLiteral("--thresholds"), unknownSite}
                                      << unknownSite << QStringLiteral("no.such.site");
        QTest::newRow("thresholds not JSON") << QStringList{QStringLiteral("project"), QStringLiteral("--subset"), QStringLiteral("8"),
                                                            QStringLiteral("--thresholds"), notJson}
                                             << notJson << QStringLiteral("not valid JSON");
        QTest::newRow("missing thresholds") << QStringList{QStringLiteral("export"), QStringLiteral("--thresholds"), path("nope.json"),
                                                           QStringLiteral("-o"), path("out.pt")}
                                            << path("nope.json") << QStringLiteral("cannot open the thresholds file");
        QTest::newRow("wrong recipe") << QStringList{QStringLiteral("train"), QStringLiteral("--recipe"), badRecipe,
                                                     QStringLiteral("--checkpoints"), path("ck-bad")}
                                      << badRecipe << QStringLiteral("magic");
        QTest::newRow("bad preset") << QStringList{QStringLiteral("project"), QStringLiteral("--subset"), QStringLiteral("8"),
                                                   QStringLiteral("--preset"), badPreset}
                                    << badPreset << QString();
        QTest::newRow("unknown preset") << QStringList{QStringLiteral("project"), QStringLiteral("--preset"), QStringLiteral("no-such-chip")}
                                        << QStringLiteral("no-such-chip") << QStringLiteral("neuronflow-28nm");
        QTest::newRow("bad project") << QStringList{QStringLiteral("analyze"), QStringLiteral("--project"), badProject} << badProject
                                     << QStringLiteral("version 7");
        Q_UNUSED(wrongSchema);
    }
    void badFilesExitOneNamingTheFile()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, file);
        QFETCH(QString, problem);
        const Run r = runCli(args);
        QVERIFY2(r.exitCode == 1, qPrintable(describe(r)));
        const QString e = QString::fromUtf8(r.err);
        QVERIFY2(e.contains(file), qPrintable(e));
        if (!problem.isEmpty())
            QVERIFY2(e.contains(problem), qPrintable(e));
        QVERIFY2(!e.contains(QStringLiteral("Usage:")), qPrintable(e));
    }

    // ---- each command end to end ----
    void inspectJson()
    {
        const Run r = runCli({QStringLiteral("inspect"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QJsonObject o = parseReport(r, QStringLiteral("inspect"));
        QVERIFY(!o.isEmpty());
        const QStringList problems = checkFields(o, kHeader + QStringList{
            QStringLiteral("sites[].name:s"), QStringLiteral("sites[].op:s"), QStringLiteral("sites[].kind:s"),
            QStringLiteral("sites[].sparsifiable:b"), QStringLiteral("sites[].shape:a"), QStringLiteral("sites[].consumers:a"),
            QStringLiteral("sites[].consumer_macs:n"), QStringLiteral("layers[].name:s"), QStringLiteral("layers[].dense_macs:n"),
            QStringLiteral("layers[].input_site:s?")});
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
        // The sample ResNet: 7 ReLU sites with known shapes, the first one 16x28x28.
        const QJsonArray sites = o.value(QStringLiteral("sites")).toArray();
        QCOMPARE(o.value(QStringLiteral("model")).toObject().value(QStringLiteral("sparsifiable_site_count")).toInt(), 7);
        QCOMPARE(sites[0].toObject().value(QStringLiteral("shape")).toArray(), (QJsonArray{16, 28, 28}));
    }

    void inspectText()
    {
        const Run r = runCli({QStringLiteral("inspect")});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QString text = QString::fromUtf8(r.out);
        QVERIFY(text.contains(QStringLiteral("layer1.relu#2")));
        QVERIFY(text.contains(QStringLiteral("sample project")) == false); // that note goes to stderr
        QVERIFY(QString::fromUtf8(r.err).contains(QStringLiteral("sample project")));
        // Aligned: every row of the site table is as wide as the dashed rule or narrower, and the column "shape"
        // ends at the same position in every row.
        const QStringList lines = text.split(QLatin1Char('\n'));
        const qsizetype headerAt = lines.indexOf(lines.filter(QStringLiteral("elements")).value(0));
        QVERIFY(headerAt >= 0);
        const qsizetype shapeEnd = lines[headerAt].indexOf(QStringLiteral("shape")) + 5;
        for (qsizetype i = headerAt + 2; i < lines.size() && !lines[i].isEmpty(); ++i)
            QVERIFY2(lines[i].at(shapeEnd - 1) != QLatin1Char(' ') && lines[i].at(shapeEnd) == QLatin1Char(' '), qPrintable(lines[i]));
    }

    void analyzeJsonWithProjection()
    {
        const Run r = runCli({QStringLiteral("analyze"), QStringLiteral("--subset"), QStringLiteral("200"), QStringLiteral("--preset"),
                              QStringLiteral("neuronflow-28nm"), QStringLiteral("--json"), QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        QVERIFY(r.err.isEmpty() || !r.err.contains('%')); // --quiet: no progress
        const QJsonObject o = parseReport(r, QStringLiteral("analyze"));
        QVERIFY(!o.isEmpty());
        const QStringList problems = checkFields(
            o, kHeader + kDataset + prefixed(QStringLiteral("evaluation"), kEvaluation) + kSiteStats +
                   QStringList{QStringLiteral("sites[].histogram.bins:a"), QStringLiteral("sites[].histogram.bins_per_octave:n"),
                               QStringLiteral("per_class[].top1:n?"), QStringLiteral("projection.processor.name:s"),
                               QStringLiteral("projection.dense.latency_s:n"), QStringLiteral("projection.baseline.latency_s:n"),
                               QStringLiteral("projection.baseline.energy_per_frame_j:n"), QStringLiteral("projection.tuned:o?"),
                               QStringLiteral("projection.layers[].name:s"), QStringLiteral("projection.layers[].baseline_synops:n"),
                               QStringLiteral("projection.baseline_vs_dense.latency_ratio:n")});
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
        const QJsonObject e = o.value(QStringLiteral("evaluation")).toObject();
        QCOMPARE(e.value(QStringLiteral("images")).toInt(), 200);
        QVERIFY(e.value(QStringLiteral("top1")).toDouble() > 85.0); // the sample ResNet: about 92 %
        const double sparsity = e.value(QStringLiteral("activation_sparsity")).toDouble();
        QVERIFY(sparsity > 0.2 && sparsity < 0.9);
        QCOMPARE(o.value(QStringLiteral("per_class")).toArray().size(), 10);
        // ReLU alone skips zeros: the event-driven baseline needs fewer synops than the dense reference.
        const QJsonObject proj = o.value(QStringLiteral("projection")).toObject();
        QVERIFY(proj.value(QStringLiteral("baseline")).toObject().value(QStringLiteral("synops")).toDouble() <
                proj.value(QStringLiteral("dense")).toObject().value(QStringLiteral("synops")).toDouble());
    }

    // A model without metadata on a segmentation folder: --input-shape sets the input, masks are scored.
    void analyzeSegmentationWithInputShape()
    {
        QTemporaryDir models;
        if (QProcess::execute(QStringLiteral("/usr/bin/python3"), {QStringLiteral("-c"), QStringLiteral("import torch")}) != 0)
            QSKIP("python3-torch is not installed");
        QCOMPARE(QProcess::execute(QStringLiteral("/usr/bin/python3"),
                                   {QStringLiteral(SPARSITY_TESTS_DIR "/fixtures/make_test_models.py"), models.path()}),
                 0);
        const QString root = dir_.filePath(QStringLiteral("seg"));
        QVERIFY(QDir().mkpath(root + QStringLiteral("/images")) && QDir().mkpath(root + QStringLiteral("/masks")));
        for (int i = 0; i < 3; ++i) {
            QImage image(24, 20, QImage::Format_RGB888);
            QImage mask(24, 20, QImage::Format_Grayscale8);
            for (int y = 0; y < 20; ++y)
                for (int x = 0; x < 24; ++x) {
                    image.setPixel(x, y, qRgb((x * 10 + i * 40) % 256, (y * 12) % 256, (x * y) % 256));
                    mask.scanLine(y)[x] = y == 0 ? 255 : uchar((x / 5 + i) % 5);
                }
            QVERIFY(image.save(root + QStringLiteral("/images/%1.png").arg(i)));
            QVERIFY(mask.save(root + QStringLiteral("/masks/%1.png").arg(i)));
        }
        const QString model = models.filePath(QStringLiteral("dict_scripted.pt"));
        const Run r = runCli({QStringLiteral("analyze"), model, root, QStringLiteral("--input-shape"), QStringLiteral("3,20,24"),
                              QStringLiteral("--json"), QStringLiteral("-q")});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QJsonObject e = parseReport(r, QStringLiteral("analyze")).value(QStringLiteral("evaluation")).toObject();
        const QJsonObject seg = e.value(QStringLiteral("segmentation")).toObject();
        QCOMPARE(seg.value(QStringLiteral("classes")).toInt(), 5);
        QCOMPARE(seg.value(QStringLiteral("pixels")).toInt(), 3 * 19 * 24); // the top row is 255: not scored
        const double pixelAccuracy = seg.value(QStringLiteral("pixel_accuracy")).toDouble();
        QVERIFY(pixelAccuracy >= 0.0 && pixelAccuracy <= 100.0);
        QCOMPARE(seg.value(QStringLiteral("class_iou")).toArray().size(), 5);
        QVERIFY(e.value(QStringLiteral("top1")).isNull());

        const Run text = runCli({QStringLiteral("analyze"), model, root, QStringLiteral("--input-shape"), QStringLiteral("3,20,24"), QStringLiteral("-q")});
        QVERIFY2(text.out.contains("pixel acc. / mIoU"), text.out.constData());
        const Run bad = runCli({QStringLiteral("analyze"), model, root, QStringLiteral("--input-shape"), QStringLiteral("3,20")});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY(bad.err.contains("--input-shape needs C,H,W"));
    }

    void searchWritesAThresholdsFile()
    {
        thresholds_ = path("searched.thresholds.json");
        const Run r = runCli({QStringLiteral("search"), QStringLiteral("--subset"), QStringLiteral("200"), QStringLiteral("--calibration"),
                              QStringLiteral("128"), QStringLiteral("--steps"), QStringLiteral("3"), QStringLiteral("--no-refine"),
                              QStringLiteral("--budget"), QStringLiteral("1.0"), QStringLiteral("-o"), thresholds_, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QJsonObject o = parseReport(r, QStringLiteral("search"));
        QVERIFY(!o.isEmpty());
        const QStringList problems = checkFields(
            o, kHeader + kDataset + prefixed(QStringLiteral("evaluation_before"), kEvaluation) +
                   prefixed(QStringLiteral("evaluation_after"), kEvaluation) +
                   QStringList{QStringLiteral("search.budget_pp:n"), QStringLiteral("search.start_top1:n"), QStringLiteral("search.final_top1:n"),
                               QStringLiteral("search.final_sparsity:n"), QStringLiteral("search.evaluations:n"),
                               QStringLiteral("thresholds:o"), QStringLiteral("output:s")});
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
        const QJsonObject s = o.value(QStringLiteral("search")).toObject();
        // The budget holds on the calibration set, and something was removed.
        QVERIFY(s.value(QStringLiteral("final_top1")).toDouble() >= s.value(QStringLiteral("start_top1")).toDouble() - 1.0 - 1e-9);
        QVERIFY(s.value(QStringLiteral("final_sparsity")).toDouble() > s.value(QStringLiteral("start_sparsity")).toDouble());
        // The file is a valid thresholds file with the same values, by site name.
        QFile f(thresholds_);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject file = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(file.value(QStringLiteral("schema")).toString(), QStringLiteral("sparsity-explorer/thresholds"));
        QCOMPARE(file.value(QStringLiteral("version")).toInt(), 1);
        QCOMPARE(file.value(QStringLiteral("thresholds")).toObject(), o.value(QStringLiteral("thresholds")).toObject());
        QCOMPARE(file.value(QStringLiteral("thresholds")).toObject().size(), 7);
    }

    void sweepPrintsPointsAndWritesCsv()
    {
        const QString csv = path("sweep.csv");
        const Run r = runCli({QStringLiteral("sweep"), QStringLiteral("--subset"), QStringLiteral("200"), QStringLiteral("--calibration"),
                              QStringLiteral("128"), QStringLiteral("--targets"), QStringLiteral("0.6,0.75,0.9"), QStringLiteral("--csv"),
                              csv, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QJsonObject o = parseReport(r, QStringLiteral("sweep"));
        const QStringList problems = checkFields(
            o, kHeader + kDataset +
                   QStringList{QStringLiteral("sweep.rule:s"), QStringLiteral("sweep.processor:s"), QStringLiteral("sweep.baseline.top1:n"),
                               QStringLiteral("sweep.points[].value:n"), QStringLiteral("sweep.points[].top1:n"),
                               QStringLiteral("sweep.points[].nonzeros_per_image:n"), QStringLiteral("sweep.points[].latency_s:n"),
                               QStringLiteral("sweep.points[].energy_j:n"), QStringLiteral("sweep.points[].pareto:b"),
                               QStringLiteral("sweep.points[].thresholds:o"), QStringLiteral("csv:s")});
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
        const QJsonObject sweep = o.value(QStringLiteral("sweep")).toObject();
        QCOMPARE(sweep.value(QStringLiteral("rule")).toString(), QStringLiteral("quantile"));
        QCOMPARE(sweep.value(QStringLiteral("evaluation_images")).toInt(), 200);
        QCOMPARE(sweep.value(QStringLiteral("calibration_images")).toInt(), 128);
        const QJsonArray points = sweep.value(QStringLiteral("points")).toArray();
        QCOMPARE(points.size(), 3);
        // Higher targets leave fewer events; the cheapest point is on the front.
        QVERIFY(points[0].toObject().value(QStringLiteral("nonzeros_per_image")).toDouble() >
                points[2].toObject().value(QStringLiteral("nonzeros_per_image")).toDouble());
        QVERIFY(points[2].toObject().value(QStringLiteral("pareto")).toBool());
        QCOMPARE(points[0].toObject().value(QStringLiteral("thresholds")).toObject().size(), 7);
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QStringList lines = QString::fromUtf8(f.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 4);
        QVERIFY(lines[0].startsWith(QStringLiteral("target_sparsity,top1,")));
        QVERIFY(lines[3].startsWith(QStringLiteral("0.9,")));

        // The text table names the rule's values and marks the front.
        const Run text = runCli({QStringLiteral("sweep"), QStringLiteral("--subset"), QStringLiteral("100"), QStringLiteral("--calibration"),
                                 QStringLiteral("64"), QStringLiteral("--targets"), QStringLiteral("0.9"), QStringLiteral("-q")});
        QVERIFY2(text.exitCode == 0, qPrintable(describe(text)));
        QVERIFY(text.out.contains("ReLU (0)"));
        QVERIFY(text.out.contains("90.0 %"));
        QVERIFY(text.err.isEmpty());
    }

    void analyzeAppliesTheThresholdsFile()
    {
        QVERIFY(!thresholds_.isEmpty());
        const Run r = runCli({QStringLiteral("analyze"), QStringLiteral("--subset"), QStringLiteral("64"), QStringLiteral("--thresholds"),
                              thresholds_, QStringLiteral("--json"), QStringLiteral("--no-histograms")});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QJsonObject o = parseReport(r, QStringLiteral("analyze"));
        QFile f(thresholds_);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject file = QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("thresholds")).toObject();
        for (auto it = file.begin(); it != file.end(); ++it)
            QCOMPARE(float(siteThreshold(o, it.key())), float(it.value().toDouble()));
        QVERIFY(!o.value(QStringLiteral("sites")).toArray()[0].toObject().contains(QStringLiteral("histogram")));
    }

    void projectBaselineVsTuned()
    {
        QVERIFY(!thresholds_.isEmpty());
        const Run text = runCli({QStringLiteral("project"), QStringLiteral("--subset"), QStringLiteral("100"), QStringLiteral("--preset"),
                                 QStringLiteral("neuronflow-28nm"), QStringLiteral("--thresholds"), thresholds_});
        QVERIFY2(text.exitCode == 0, qPrintable(describe(text)));
        QVERIFY(QString::fromUtf8(text.out).contains(QStringLiteral("tuned vs baseline")));
        const Run r = runCli({QStringLiteral("project"), QStringLiteral("--subset"), QStringLiteral("100"), QStringLiteral("--preset"),
                              QStringLiteral(SPARSITY_RESOURCES_DIR "/presets/dense-mac-array-28nm.json"), QStringLiteral("--thresholds"),
                              thresholds_, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QJsonObject o = parseReport(r, QStringLiteral("project"));
        const QStringList problems = checkFields(
            o, kHeader + kDataset + prefixed(QStringLiteral("baseline_evaluation"), kEvaluation) +
                   prefixed(QStringLiteral("tuned_evaluation"), kEvaluation) +
                   QStringList{QStringLiteral("projection.tuned.latency_s:n"), QStringLiteral("projection.tuned_vs_baseline.latency_ratio:n"),
                               QStringLiteral("projection.layers[].tuned_synops:n"), QStringLiteral("projection.layers[].latency_ratio:n"),
                               QStringLiteral("projection.processor.skips_zeros:b")});
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
        // A dense MAC array does not skip zeros: thresholds change nothing in its latency.
        const QJsonObject p = o.value(QStringLiteral("projection")).toObject();
        QCOMPARE(p.value(QStringLiteral("processor")).toObject().value(QStringLiteral("skips_zeros")).toBool(), false);
        QVERIFY(qAbs(p.value(QStringLiteral("tuned_vs_baseline")).toObject().value(QStringLiteral("latency_ratio")).toDouble() - 1.0) < 1e-9);
        QVERIFY(o.value(QStringLiteral("tuned_evaluation")).toObject().value(QStringLiteral("activation_sparsity")).toDouble() >
                o.value(QStringLiteral("baseline_evaluation")).toObject().value(QStringLiteral("activation_sparsity")).toDouble());
    }

    void exportWritesModelReportAndCsv()
    {
        QVERIFY(!thresholds_.isEmpty());
        const QString out = path("tuned.pt");
        const Run r = runCli({QStringLiteral("export"), QStringLiteral("--subset"), QStringLiteral("100"), QStringLiteral("--thresholds"),
                              thresholds_, QStringLiteral("-o"), out});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        QVERIFY(QFileInfo(out).size() > 1000);
        QFile json(path("tuned.json")), csv(path("tuned.csv"));
        QVERIFY(json.open(QIODevice::ReadOnly));
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QJsonObject report = QJsonDocument::fromJson(json.readAll()).object();
        QCOMPARE(report.value(QStringLiteral("command")).toString(), QStringLiteral("export"));
        const QStringList problems = checkFields(report, kHeader + prefixed(QStringLiteral("evaluation"), kEvaluation) +
                                                             QStringList{QStringLiteral("export.model:s"), QStringLiteral("export.csv:s"),
                                                                         QStringLiteral("thresholds:o")});
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
        const QList<QByteArray> rows = csv.readAll().trimmed().split('\n');
        QCOMPARE(rows.size(), 1 + 9); // header + one row per site of the sample ResNet
        QVERIFY(rows[0].startsWith("index,name,op,kind,sparsifiable,threshold"));

        // The exported model is a plain TorchScript model: the CLI inspects it, its thresholds are baked in, and
        // analysing it without thresholds gives the tuned model's accuracy and sparsity.
        const Run again = runCli({QStringLiteral("analyze"), out, QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/fashion-mnist"),
                                  QStringLiteral("--subset"), QStringLiteral("100"), QStringLiteral("--json"), QStringLiteral("--no-histograms")});
        QVERIFY2(again.exitCode == 0, qPrintable(describe(again)));
        const QJsonObject a = parseReport(again, QStringLiteral("analyze"));
        const QJsonObject before = report.value(QStringLiteral("evaluation")).toObject();
        const QJsonObject after = a.value(QStringLiteral("evaluation")).toObject();
        QCOMPARE(after.value(QStringLiteral("top1")).toDouble(), before.value(QStringLiteral("top1")).toDouble());
        QVERIFY(qAbs(after.value(QStringLiteral("activation_sparsity")).toDouble() -
                     before.value(QStringLiteral("activation_sparsity")).toDouble()) < 1e-6);
        const QJsonObject meta = a.value(QStringLiteral("model")).toObject().value(QStringLiteral("metadata")).toObject();
        QVERIFY(meta.value(QStringLiteral("tuning")).toObject().value(QStringLiteral("measured")).isObject());

        // Never overwrites the input (a copy of the sample model, so a failure cannot damage the shipped one).
        const QString input = path("input-copy.pt");
        QVERIFY(QFile::copy(QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt"), input));
        const QByteArray original = [&] { QFile f(input); f.open(QIODevice::ReadOnly); return f.readAll(); }();
        const Run refuse = runCli({QStringLiteral("export"), input, QStringLiteral("--no-evaluate"), QStringLiteral("--thresholds"),
                                   thresholds_, QStringLiteral("-o"), input});
        QFile kept(input);
        QVERIFY(kept.open(QIODevice::ReadOnly));
        QCOMPARE(kept.readAll(), original);
        QCOMPARE(refuse.exitCode, 1);
        QVERIFY2(QString::fromUtf8(refuse.err).contains(QStringLiteral("overwrite")), refuse.err.constData());
    }

    void trainOneEpochThenResume()
    {
        const QString checkpoints = path("checkpoints");
        const QString out = path("trained.pt");
        const QStringList common{QStringLiteral("train"), QStringLiteral("--method"), QStringLiteral("star"), QStringLiteral("--regularize-epochs"),
                                 QStringLiteral("1"), QStringLiteral("--finetune-epochs"), QStringLiteral("0"), QStringLiteral("--train-images"),
                                 QStringLiteral("512"), QStringLiteral("--calibration-images"), QStringLiteral("128"),
                                 QStringLiteral("--validation-images"), QStringLiteral("100"), QStringLiteral("--subset"), QStringLiteral("100"),
                                 QStringLiteral("--checkpoints"), checkpoints, QStringLiteral("--json")};
        const Run r = runCli(common + QStringList{QStringLiteral("-o"), out});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QJsonObject o = parseReport(r, QStringLiteral("train"));
        const QStringList problems = checkFields(
            o, kHeader + kDataset + prefixed(QStringLiteral("evaluation"), kEvaluation) + kSiteStats +
                   QStringList{QStringLiteral("training.recipe.schema:s"), QStringLiteral("training.epochs_done:n"),
                               QStringLiteral("training.epochs[].validation_top1:n"), QStringLiteral("training.thresholds:o"),
                               QStringLiteral("training.checkpoints:a"), QStringLiteral("training.seconds:n"), QStringLiteral("export.model:s")});
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
        QCOMPARE(o.value(QStringLiteral("training")).toObject().value(QStringLiteral("epochs_done")).toInt(), 1);
        QVERIFY(QFileInfo::exists(out));
        QVERIFY(QFileInfo::exists(path("trained.csv")));
        // A fine-tuned ResNet still classifies (one epoch on 512 images must not wreck it).
        QVERIFY(o.value(QStringLiteral("evaluation")).toObject().value(QStringLiteral("top1")).toDouble() > 70.0);

        // Resuming a finished run does no further epoch and keeps the result.
        const Run resumed = runCli(common + QStringList{QStringLiteral("--resume")});
        QVERIFY2(resumed.exitCode == 0, qPrintable(describe(resumed)));
        const QJsonObject again = parseReport(resumed, QStringLiteral("train"));
        QVERIFY(QString::fromUtf8(resumed.err).contains(QStringLiteral("resumed")));
        QCOMPARE(again.value(QStringLiteral("training")).toObject().value(QStringLiteral("epochs")).toArray().size(), 0);
        QCOMPARE(again.value(QStringLiteral("evaluation")).toObject().value(QStringLiteral("top1")).toDouble(),
                 o.value(QStringLiteral("evaluation")).toObject().value(QStringLiteral("top1")).toDouble());
    }

    // `train --thresholds FILE` starts from the file's thresholds (per channel too); a recipe that keeps them
    // fine-tunes with them in place.
    void trainFromAThresholdsFile()
    {
        const QString thresholds = path("start.thresholds.json");
        writeFile(thresholds, R"({"schema": "sparsity-explorer/thresholds", "version": 1,
            "thresholds": {"layer1.relu": 0.3},
            "channel_thresholds": {"relu": [0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2]}})");
        const QString recipe = path("keep.recipe.json");
        writeFile(recipe, R"({"schema": "sparsity-explorer/recipe", "version": 1, "method": "star",
            "regularize": {"epochs": 0}, "thresholds": {"mode": "keep"}, "finetune": {"epochs": 1}})");
        const Run r = runCli({QStringLiteral("train"), QStringLiteral("--recipe"), recipe, QStringLiteral("--thresholds"), thresholds,
                              QStringLiteral("--train-images"), QStringLiteral("256"), QStringLiteral("--calibration-images"),
                              QStringLiteral("64"), QStringLiteral("--validation-images"), QStringLiteral("64"), QStringLiteral("--subset"),
                              QStringLiteral("100"), QStringLiteral("--checkpoints"), path("keep-checkpoints"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QJsonObject training = parseReport(r, QStringLiteral("train")).value(QStringLiteral("training")).toObject();
        const QJsonObject kept = training.value(QStringLiteral("thresholds")).toObject();
        QVERIFY2(std::abs(kept.value(QStringLiteral("layer1.relu")).toDouble() - 0.3) < 1e-6, r.out.constData());
        const QJsonArray channels =
            training.value(QStringLiteral("channel_thresholds")).toObject().value(QStringLiteral("relu")).toArray();
        QCOMPARE(channels.size(), 16);
        QVERIFY(std::abs(channels.at(0).toDouble() - 0.1) < 1e-6 && std::abs(channels.at(1).toDouble() - 0.2) < 1e-6);
    }

    void compareTwoMethods()
    {
        const Run r = runCli({QStringLiteral("compare"), QStringLiteral("--methods"), QStringLiteral("relu,l1-only"),
                              QStringLiteral("--regularize-epochs"), QStringLiteral("1"), QStringLiteral("--finetune-epochs"), QStringLiteral("0"),
                              QStringLiteral("--train-images"), QStringLiteral("256"), QStringLiteral("--calibration-images"), QStringLiteral("64"),
                              QStringLiteral("--validation-images"), QStringLiteral("64"), QStringLiteral("--subset"), QStringLiteral("100"),
                              QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        const QJsonObject o = parseReport(r, QStringLiteral("compare"));
        const QStringList problems = checkFields(
            o, kHeader + kDataset +
                   QStringList{QStringLiteral("comparison.epochs_per_method:n"), QStringLiteral("comparison.methods[].method:s"),
                               QStringLiteral("comparison.methods[].top1:n"), QStringLiteral("comparison.methods[].activation_sparsity:n"),
                               QStringLiteral("comparison.methods[].removed_vs_relu:n"), QStringLiteral("comparison.methods[].top1_delta_pp:n"),
                               QStringLiteral("comparison.methods[].sites[].sparsity:n?")});
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
        const QJsonArray methods = o.value(QStringLiteral("comparison")).toObject().value(QStringLiteral("methods")).toArray();
        QCOMPARE(methods.size(), 2);
        QCOMPARE(methods[0].toObject().value(QStringLiteral("method")).toString(), QStringLiteral("relu"));
        QCOMPARE(methods[0].toObject().value(QStringLiteral("removed_vs_relu")).toDouble(), 0.0);
        QCOMPARE(methods[1].toObject().value(QStringLiteral("method")).toString(), QStringLiteral("l1-only"));
    }
};

QTEST_APPLESS_MAIN(TestCli)
#include "tst_cli.moc"
