// ONNX in: models exported with torch.onnx.export (torchvision ResNet-18, MobileNetV2, a DeepLabV3-style segmenter)
// and one built with onnx.helper, imported and compared with an independent runtime (OpenCV's cv::dnn) on real
// images; site names against the TorchScript export of the same model; the error paths; capture, a STAR run and
// the CLI on an imported model. Fixtures: tests/fixtures/make_onnx_models.py, written at run time.
#include "capture/capture.h"
#include "data/dataset.h"
#include "error.h"
#include "graph/model.h"
#include "graph/onnximport.h"
#include "tune/recipe.h"
#include "tune/training.h"
#include "testmodels.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <opencv2/dnn.hpp>

#include <algorithm>
#include <cmath>

using namespace sparsity;

namespace {

std::vector<std::string> names(const Model &m)
{
    std::vector<std::string> out;
    for (const auto &s : m.sites())
        out.push_back(s.name);
    return out;
}

std::vector<std::string> layerNames(const Model &m)
{
    std::vector<std::string> out;
    for (const auto &l : m.layers())
        out.push_back(l.geometry.name);
    return out;
}

QString joined(const std::vector<std::string> &v)
{
    QStringList l;
    for (const auto &s : v)
        l << QString::fromStdString(s);
    return l.join(QLatin1Char(' '));
}

// cv::dnn's output for one image of the batch; empty (with the reason in `error`) when cv::dnn refuses the file.
std::vector<float> openCvRun(const QString &path, const Batch &b, int image, QString *error)
try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path.toStdString());
    const int sizes[] = {1, b.c, b.h, b.w};
    const std::size_t plane = std::size_t(b.c * b.h * b.w);
    cv::Mat blob(4, sizes, CV_32F, const_cast<float *>(b.data.data() + plane * std::size_t(image)));
    net.setInput(blob);
    const cv::Mat out = net.forward();
    const float *p = out.ptr<float>();
    return std::vector<float>(p, p + out.total());
} catch (const cv::Exception &e) {
    if (error)
        *error = QString::fromStdString(e.what());
    return {};
}

// The same, for models with ReLU6 too: cv::dnn 4.6 parses Clip only with attribute bounds, so it reads a copy with
// the constant bounds moved into attributes (fixtures/opencv_reference.py; the computation is unchanged).
std::vector<float> openCvOutput(const QString &path, const Batch &b, int image, QString *error = nullptr)
{
    QString first;
    auto out = openCvRun(path, b, image, &first);
    if (!first.contains(QLatin1String("parseClip"))) {
        if (error)
            *error = first;
        return out;
    }
    const QString reference = path + QStringLiteral(".cvref.onnx");
    if (!QFile::exists(reference) &&
        QProcess::execute(QStringLiteral("/usr/bin/python3"),
                          {QStringLiteral(SPARSITY_TESTS_DIR "/fixtures/opencv_reference.py"), path, reference}) != 0) {
        if (error)
            *error = QStringLiteral("fixtures/opencv_reference.py failed on ") + path;
        return {};
    }
    return openCvRun(reference, b, image, error);
}

} // namespace

class TestOnnx : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::unique_ptr<Dataset> test_, train_;
    QString path(const QString &name) const { return dir_.filePath(name); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        if (!testmodels::torchvisionAvailable() ||
            QProcess::execute(QStringLiteral("/usr/bin/python3"), {QStringLiteral("-c"), QStringLiteral("import onnx")}) != 0)
            QSKIP("python3-torch, python3-torchvision or python3-onnx is not installed (scripts/install-deps.sh installs them)");
        QProcess py;
        py.start(QStringLiteral("/usr/bin/python3"), {QStringLiteral(SPARSITY_TESTS_DIR "/fixtures/make_onnx_models.py"), dir_.path()});
        QVERIFY(py.waitForFinished(300000));
        QVERIFY2(py.exitCode() == 0, py.readAllStandardError().right(3000).constData());
        test_ = openDataset(testmodels::sampleData().toStdString(), Split::Test);
        train_ = openDataset(testmodels::sampleData().toStdString(), Split::Train);
    }

    // Our import and cv::dnn agree on real images (Fashion-MNIST test images, resized, replicated to RGB where the
    // model wants three channels). Two images in one batch: the imported graph must not keep the exported batch
    // size of 1 (a Reshape's computed shape would).
    void matchesOpenCv_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("channels");
        QTest::addColumn<int>("size");
        QTest::newRow("resnet18") << QStringLiteral("resnet18.onnx") << 3 << 64;
        QTest::newRow("mobilenetv2") << QStringLiteral("mobilenetv2.onnx") << 3 << 64;
        QTest::newRow("segmenter") << QStringLiteral("segmenter.onnx") << 3 << 64;
        QTest::newRow("onnx.helper") << QStringLiteral("helper.onnx") << 3 << 32;
        QTest::newRow("small cnn") << QStringLiteral("smallcnn.onnx") << 1 << 28;
    }
    void matchesOpenCv()
    {
        QFETCH(QString, file);
        QFETCH(int, channels);
        QFETCH(int, size);
        auto m = Model::load(path(file).toStdString());
        QCOMPARE(m->inputShape(), (std::vector<std::int64_t>{channels, size, size}));
        Preprocessing p;
        p.channels = channels;
        p.height = p.width = size;
        p.mean = {0.5f};
        p.std = {0.25f};
        const auto batches = loadBatches(*test_, p, {3, 17}, 2);
        QCOMPARE(int(batches.size()), 1);
        std::vector<std::int64_t> shape;
        const auto ours = forwardOutput(*m, batches[0], true, &shape);
        QCOMPARE(shape.front(), std::int64_t(2));
        const std::size_t per = ours.size() / 2;
        for (int image = 0; image < 2; ++image) {
            QString error;
            const auto reference = openCvOutput(path(file), batches[0], image, &error);
            QVERIFY2(error.isEmpty(), qPrintable(error));
            QCOMPARE(reference.size(), per);
            double maxDiff = 0.0, maxRef = 0.0;
            for (std::size_t i = 0; i < per; ++i) {
                maxDiff = std::max(maxDiff, double(std::abs(ours[per * std::size_t(image) + i] - reference[i])));
                maxRef = std::max(maxRef, double(std::abs(reference[i])));
            }
            QVERIFY(maxRef > 0.0);
            QVERIFY2(maxDiff <= 1e-4 * maxRef, qPrintable(QStringLiteral("image %1: max |ours - cv::dnn| = %2, max |cv::dnn| = %3")
                                                              .arg(image).arg(maxDiff).arg(maxRef)));
        }
    }

    // Sites and layers carry the names of the TorchScript export of the same model, so thresholds files and
    // projects carry over.
    void namesMatchTorchScript_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("resnet18") << QStringLiteral("resnet18");
        QTest::newRow("mobilenetv2") << QStringLiteral("mobilenetv2");
        QTest::newRow("segmenter") << QStringLiteral("segmenter");
        QTest::newRow("small cnn") << QStringLiteral("smallcnn");
    }
    void namesMatchTorchScript()
    {
        QFETCH(QString, name);
        auto onnx = Model::load(path(name + QStringLiteral(".onnx")).toStdString());
        auto script = Model::load(path(name + QStringLiteral(".pt")).toStdString());
        script->setInputShape(onnx->inputShape()); // a traced archive states no input shape
        QVERIFY2(names(*onnx) == names(*script), qPrintable(QStringLiteral("onnx:   %1\ntorch:  %2").arg(joined(names(*onnx)), joined(names(*script)))));
        QVERIFY2(layerNames(*onnx) == layerNames(*script),
                 qPrintable(QStringLiteral("onnx:   %1\ntorch:  %2").arg(joined(layerNames(*onnx)), joined(layerNames(*script)))));
        for (std::size_t i = 0; i < onnx->sites().size(); ++i) {
            QCOMPARE(onnx->sites()[i].kind, script->sites()[i].kind);
            QCOMPARE(onnx->sites()[i].sparsifiable, script->sites()[i].sparsifiable);
            QCOMPARE(onnx->sites()[i].shape, script->sites()[i].shape);
        }
    }

    void helperModelNames()
    {
        auto m = Model::load(path(QStringLiteral("helper.onnx")).toStdString());
        std::vector<std::string> activations;
        for (const auto &s : m->sites())
            activations.push_back(s.name);
        QVERIFY2(std::find(activations.begin(), activations.end(), "stem.relu") != activations.end(), qPrintable(joined(activations)));
        QVERIFY2(std::find(activations.begin(), activations.end(), "block.clip") != activations.end(), qPrintable(joined(activations)));
        const auto &clip = m->sites()[std::size_t(std::find(activations.begin(), activations.end(), "block.clip") - activations.begin())];
        QCOMPARE(clip.kind, ActivationKind::Relu6);
        QVERIFY(clip.sparsifiable);
    }

    // Every broken input is a sparsity::Error that names the file and the problem.
    void errors_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QByteArray>("bytes"); // written to `file` first when not empty
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("unknown operator") << QStringLiteral("unsupported.onnx") << QByteArray()
                                          << QStringList{QStringLiteral("Erf"), QStringLiteral("/block/erf/Erf"), QStringLiteral("not supported")};
        QTest::newRow("missing external data") << QStringLiteral("external.onnx") << QByteArray()
                                               << QStringList{QStringLiteral("external.onnx.data"), QStringLiteral("cannot be opened")};
        QTest::newRow("malformed protobuf") << QStringLiteral("garbage.onnx") << QByteArray("\xff\xff\xff\xff this is not protobuf", 26)
                                            << QStringList{QStringLiteral("not a valid ONNX model")};
        QTest::newRow("empty") << QStringLiteral("empty.onnx") << QByteArray("\n", 1) << QStringList{QStringLiteral("ONNX")};
        QTest::newRow("missing file") << QStringLiteral("nowhere.onnx") << QByteArray() << QStringList{QStringLiteral("cannot open")};
    }
    void errors()
    {
        QFETCH(QString, file);
        QFETCH(QByteArray, bytes);
        QFETCH(QStringList, expected);
        if (!bytes.isEmpty()) {
            QFile f(path(file));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(bytes);
        }
        try {
            Model::load(path(file).toStdString());
            QFAIL("the model loaded");
        } catch (const Error &e) {
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.contains(path(file)), qPrintable(message));
            for (const QString &part : expected)
                QVERIFY2(message.contains(part), qPrintable(message));
        }
    }

    // A file cut anywhere is refused with a message, never a crash or a silently smaller model.
    void truncated()
    {
        QFile f(path(QStringLiteral("smallcnn.onnx")));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray whole = f.readAll();
        for (const double fraction : {0.1, 0.5, 0.9, 0.999}) {
            const QString cut = path(QStringLiteral("cut.onnx"));
            QFile out(cut);
            QVERIFY(out.open(QIODevice::WriteOnly | QIODevice::Truncate));
            out.write(whole.left(qsizetype(double(whole.size()) * fraction)));
            out.close();
            try {
                Model::load(cut.toStdString());
                QFAIL(qPrintable(QStringLiteral("a file cut at %1 loaded").arg(fraction)));
            } catch (const Error &e) {
                QVERIFY2(QString::fromUtf8(e.what()).contains(cut), e.what());
            }
        }
    }

    // Capture statistics and a STAR run (regularise + fine-tune) on the imported model, like on TorchScript.
    void captureAndStar()
    {
        auto m = Model::load(path(QStringLiteral("smallcnn.onnx")).toStdString());
        const Preprocessing p = m->defaultPreprocessing();
        std::vector<std::size_t> indices(64);
        for (std::size_t i = 0; i < indices.size(); ++i)
            indices[i] = i;
        const auto batches = loadBatches(*test_, p, indices, 32);
        const auto before = forwardOutput(*m, batches[0], true);
        const CaptureResult stats = capture(*m, batches);
        QCOMPARE(stats.images, std::int64_t(64));
        int sparse = 0;
        for (std::size_t i = 0; i < m->sites().size(); ++i)
            if (m->sites()[i].sparsifiable && stats.sites[i].zeros > 0)
                ++sparse;
        QCOMPARE(sparse, 2); // relu1 and the ReLU6

        Recipe r = Recipe::forMethod(Recipe::Method::Star);
        r.regularizeEpochs = 1;
        r.finetuneEpochs = 1;
        r.trainImages = 64;
        r.calibrationImages = 32;
        r.validationImages = 32;
        r.batchSize = 32;
        r.thresholdMode = Recipe::ThresholdMode::Quantile;
        r.targetSparsity = 0.8;
        r.seed = 3;
        TrainingData data{train_.get(), test_.get(), p};
        const auto result = train(*m, r, data, path(QStringLiteral("star")).toStdString());
        QVERIFY(!result.cancelled);
        QVERIFY(result.epochsDone >= 1);
        QVERIFY(result.thresholds[0] > 0.0f);
        const auto after = forwardOutput(*m, batches[0], true);
        QVERIFY(before != after); // fine-tuned weights and thresholds change the logits
        for (float v : after)
            QVERIFY(std::isfinite(v));
    }

    // ONNX out: a tuned model (scalar thresholds on some sites, per-channel on others) written as ONNX runs in
    // cv::dnn and through our own import with the engine's thresholded outputs; names and thresholds survive.
    void exportRoundTrip_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("onnx small cnn") << path(QStringLiteral("smallcnn.onnx"));
        QTest::newRow("onnx resnet18") << path(QStringLiteral("resnet18.onnx"));
        QTest::newRow("torchscript sample resnet") << testmodels::sampleModel("sample-resnet");
        QTest::newRow("torchscript mobilenetv2 (traced)") << path(QStringLiteral("mobilenetv2.pt"));
    }
    void exportRoundTrip()
    {
        QFETCH(QString, file);
        auto m = Model::load(file.toStdString());
        if (m->inputShape().empty())
            m->setInputShape({3, 64, 64});
        int scalars = 0, channels = 0;
        for (const auto &site : m->sites()) {
            if (!site.sparsifiable)
                continue;
            if (site.index % 2 == 0 || site.shape.empty()) {
                m->setThreshold(site.index, 0.05f);
                ++scalars;
            } else {
                std::vector<float> t(std::size_t(site.shape[0]));
                for (std::size_t c = 0; c < t.size(); ++c)
                    t[c] = 0.01f * float(c % 7);
                m->setChannelThresholds(site.index, t);
                ++channels;
            }
        }
        QVERIFY(scalars > 0 && channels > 0);
        const QString out = path(QFileInfo(file).completeBaseName() + QStringLiteral("-tuned.onnx"));
        exportThresholdedOnnx(*m, out.toStdString(), R"({"recipe": {"method": "test"}})");

        Preprocessing p;
        p.channels = int(m->inputShape()[0]);
        p.height = int(m->inputShape()[1]);
        p.width = int(m->inputShape()[2]);
        const auto batches = loadBatches(*test_, p, {5, 9}, 2);
        const auto engine = forwardOutput(*m, batches[0], true);
        const std::size_t per = engine.size() / 2;
        auto compare = [&](const std::vector<float> &other, std::size_t offset, const char *what) {
            double maxDiff = 0.0, maxRef = 0.0;
            for (std::size_t i = 0; i < per; ++i) {
                maxDiff = std::max(maxDiff, double(std::abs(engine[offset + i] - other[i])));
                maxRef = std::max(maxRef, double(std::abs(engine[offset + i])));
            }
            QVERIFY2(maxDiff <= 1e-4 * std::max(maxRef, 1e-3), qPrintable(QStringLiteral("%1: max |engine - export| = %2 of %3").arg(QString::fromUtf8(what)).arg(maxDiff).arg(maxRef)));
        };
        for (int image = 0; image < 2; ++image) {
            QString error;
            const auto reference = openCvOutput(out, batches[0], image, &error);
            QVERIFY2(error.isEmpty(), qPrintable(error));
            QCOMPARE(reference.size(), per);
            compare(reference, per * std::size_t(image), "cv::dnn");
        }
        auto again = Model::load(out.toStdString());
        const auto reimported = forwardOutput(*again, batches[0], true);
        QCOMPARE(reimported.size(), engine.size());
        compare(reimported, 0, "our import, image 0");
        compare(std::vector<float>(reimported.begin() + long(per), reimported.end()), per, "our import, image 1");
        std::vector<std::string> activations, activationsAgain;
        for (const auto &s : m->sites())
            if (s.op.rfind("input of", 0) != 0)
                activations.push_back(s.name);
        for (const auto &s : again->sites())
            if (s.op.rfind("input of", 0) != 0)
                activationsAgain.push_back(s.name);
        QVERIFY2(activations == activationsAgain, qPrintable(joined(activations) + QStringLiteral("\n") + joined(activationsAgain)));
        // A scalar threshold is baked into a ThresholdedRelu that the import reads back as the site's threshold.
        for (const auto &s : m->sites())
            if (s.sparsifiable && m->channelThresholds(s.index).empty() && m->thresholds()[std::size_t(s.index)] > 0.0f)
                QCOMPARE(again->sites()[std::size_t(s.index)].bakedThreshold, double(0.05f));
        QVERIFY(!QFile::exists(out + QStringLiteral(".partial")));
    }

    void cliInspectAndAnalyze()
    {
        auto run = [](const QStringList &args) {
            QProcess p;
            p.start(QStringLiteral(SPARSITY_CLI_PATH), args + QStringList{QStringLiteral("--threads"), QStringLiteral("2")});
            p.waitForFinished(240000);
            return std::make_pair(p.exitCode(), QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError()));
        };
        const auto inspect = run({QStringLiteral("inspect"), path(QStringLiteral("resnet18.onnx"))});
        QVERIFY2(inspect.first == 0, qPrintable(inspect.second));
        QVERIFY2(inspect.second.contains(QStringLiteral("layer1.0.relu#2")), qPrintable(inspect.second));
        const auto analyze = run({QStringLiteral("analyze"), path(QStringLiteral("smallcnn.onnx")), testmodels::sampleData(),
                                  QStringLiteral("--subset"), QStringLiteral("64"), QStringLiteral("-q")});
        QVERIFY2(analyze.first == 0, qPrintable(analyze.second));
        QVERIFY2(analyze.second.contains(QStringLiteral("relu1")), qPrintable(analyze.second));
    }

    // Every command of sparsity-cli on ONNX models as on TorchScript: the small CNN at its own 1x28x28 and the
    // torchvision exports at 3x64x64 (the grey images replicated to RGB), each asserting what the command made.
    void cliEveryCommand_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("command");
        QTest::addColumn<QStringList>("extra");
        QTest::addColumn<QString>("expected"); // in the JSON report
        const QStringList small{QStringLiteral("--subset"), QStringLiteral("64"), QStringLiteral("--calibration"), QStringLiteral("64")};
        const QStringList rgb{QStringLiteral("--input-shape"), QStringLiteral("3,64,64"), QStringLiteral("--subset"), QStringLiteral("32")};
        const QStringList tiny{QStringLiteral("--regularize-epochs"), QStringLiteral("1"), QStringLiteral("--finetune-epochs"),
                               QStringLiteral("0"), QStringLiteral("--train-images"), QStringLiteral("64"),
                               QStringLiteral("--calibration-images"), QStringLiteral("32"), QStringLiteral("--validation-images"),
                               QStringLiteral("32")};
        QTest::newRow("smallcnn analyze") << "smallcnn.onnx" << "analyze" << small.mid(0, 2) << "\"evaluation\"";
        QTest::newRow("smallcnn search") << "smallcnn.onnx" << "search" << small + QStringList{QStringLiteral("--steps"), QStringLiteral("3")}
                                         << "\"final_sparsity\"";
        QTest::newRow("smallcnn sweep") << "smallcnn.onnx" << "sweep" << small + QStringList{QStringLiteral("--targets"), QStringLiteral("0.5,0.9")}
                                        << "\"pareto\"";
        QTest::newRow("smallcnn train") << "smallcnn.onnx" << "train" << small.mid(0, 2) + tiny << "\"epochs_done\"";
        QTest::newRow("smallcnn compare") << "smallcnn.onnx" << "compare"
                                          << small.mid(0, 2) + tiny + QStringList{QStringLiteral("--methods"), QStringLiteral("relu,star")}
                                          << "\"removed_vs_relu\"";
        QTest::newRow("smallcnn project") << "smallcnn.onnx" << "project"
                                          << small.mid(0, 2) + QStringList{QStringLiteral("--preset"), QStringLiteral("neuronflow-28nm")}
                                          << "\"baseline_evaluation\"";
        QTest::newRow("resnet18 analyze") << "resnet18.onnx" << "analyze" << rgb << "\"layer4.1.relu#2\"";
        QTest::newRow("resnet18 sweep") << "resnet18.onnx" << "sweep"
                                        << rgb + QStringList{QStringLiteral("--targets"), QStringLiteral("0.8"), QStringLiteral("--calibration"), QStringLiteral("32")}
                                        << "\"latency_s\"";
        QTest::newRow("mobilenetv2 analyze") << "mobilenetv2.onnx" << "analyze" << rgb << "\"features.18.2\"";
        QTest::newRow("mobilenetv2 project") << "mobilenetv2.onnx" << "project"
                                             << rgb + QStringList{QStringLiteral("--preset"), QStringLiteral("dense-mac-array-28nm")}
                                             << "\"projection\"";
    }
    void cliEveryCommand()
    {
        QFETCH(QString, model);
        QFETCH(QString, command);
        QFETCH(QStringList, extra);
        QFETCH(QString, expected);
        QProcess p;
        p.setWorkingDirectory(dir_.path()); // search writes MODEL.thresholds.json, train its checkpoints here
        p.start(QStringLiteral(SPARSITY_CLI_PATH), QStringList{command, path(model), testmodels::sampleData()} + extra +
                                                      QStringList{QStringLiteral("--json"), QStringLiteral("-q"),
                                                                  QStringLiteral("--threads"), QStringLiteral("2")});
        QVERIFY(p.waitForFinished(300000));
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0,
                 qPrintable(QString::fromUtf8(p.readAllStandardError().right(2000))));
        const QJsonObject report = QJsonDocument::fromJson(out.toUtf8()).object();
        QCOMPARE(report.value(QStringLiteral("command")).toString(), command);
        QVERIFY2(out.contains(expected), qPrintable(out.left(1500)));
    }

    // export to both formats from an ONNX model: the thresholds of a search reach the file, which loads again.
    void cliExportFromOnnx()
    {
        const QString thresholds = path(QStringLiteral("smallcnn-export.thresholds.json"));
        auto run = [&](const QStringList &args) {
            QProcess p;
            p.start(QStringLiteral(SPARSITY_CLI_PATH), args + QStringList{QStringLiteral("-q"), QStringLiteral("--threads"), QStringLiteral("2")});
            p.waitForFinished(300000);
            return std::make_pair(p.exitCode(), QString::fromUtf8(p.readAllStandardOutput() + p.readAllStandardError()));
        };
        const QString model = path(QStringLiteral("smallcnn.onnx"));
        const auto search = run({QStringLiteral("search"), model, testmodels::sampleData(), QStringLiteral("--subset"),
                                 QStringLiteral("64"), QStringLiteral("--calibration"), QStringLiteral("64"), QStringLiteral("--steps"),
                                 QStringLiteral("3"), QStringLiteral("-o"), thresholds});
        QVERIFY2(search.first == 0, qPrintable(search.second));
        for (const char *suffix : {".onnx", ".pt"}) {
            const QString out = path(QStringLiteral("smallcnn-tuned") + QLatin1String(suffix));
            const auto exported = run({QStringLiteral("export"), model, testmodels::sampleData(), QStringLiteral("--subset"),
                                       QStringLiteral("64"), QStringLiteral("--thresholds"), thresholds, QStringLiteral("-o"), out});
            QVERIFY2(exported.first == 0, qPrintable(exported.second));
            auto again = Model::load(out.toStdString());
            QCOMPARE(again->sites().size(), Model::load(model.toStdString())->sites().size());
        }
        // The input model is never an output.
        const auto refused = run({QStringLiteral("export"), model, QStringLiteral("--no-evaluate"), QStringLiteral("--thresholds"),
                                  thresholds, QStringLiteral("-o"), model});
        QCOMPARE(refused.first, 1);
        QVERIFY2(refused.second.contains(QStringLiteral("would overwrite")), qPrintable(refused.second));
    }
};

QTEST_APPLESS_MAIN(TestOnnx)
#include "tst_onnx.moc"
