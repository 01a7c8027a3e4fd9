// Model loading, site discovery, naming and geometry on real models: the sample models, models exported
// with torch.jit.script/trace, and torchvision models.
#include "capture/capture.h"
#include "error.h"
#include "graph/model.h"
#include "threads.h"
#include "testmodels.h"

#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace sparsity;

namespace {

std::vector<std::string> siteNames(const Model &m, bool activationsOnly = true)
{
    std::vector<std::string> names;
    for (const auto &s : m.sites())
        if (!activationsOnly || s.op.rfind("input of", 0) != 0)
            names.push_back(s.name);
    return names;
}

const Site *findSite(const Model &m, const std::string &name)
{
    for (const auto &s : m.sites())
        if (s.name == name)
            return &s;
    return nullptr;
}

} // namespace

class TestModel : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString path(const char *name) const { return dir_.filePath(QString::fromUtf8(name)); }
    std::shared_ptr<Model> load(const char *name) const { return Model::load(path(name).toStdString()); }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        if (!testmodels::pythonTorchAvailable())
            QSKIP("python3-torch is not installed (scripts/install-deps.sh installs it)");
        const QString error = testmodels::exportModels(dir_.path(), testmodels::torchvisionAvailable());
        QVERIFY2(error.isEmpty(), qPrintable(error));
    }

    void sampleResNetSites()
    {
        auto m = Model::load(testmodels::sampleModel("sample-resnet").toStdString());
        const std::vector<std::string> expected{"relu", "layer1.relu", "layer1.relu#2", "layer2.relu", "layer2.relu#2",
                                                "layer3.relu", "layer3.relu#2"};
        QCOMPARE(siteNames(*m), expected);
        QVERIFY(m->metadata().present);
        QCOMPARE(m->metadata().inputShape, (std::vector<std::int64_t>{1, 28, 28}));
        QCOMPARE(int(m->metadata().classes.size()), 10);
        // The in-place relu_ became functional because nothing else reads its input.
        QCOMPARE(QString::fromStdString(findSite(*m, "layer1.relu")->op), QStringLiteral("aten::relu"));
        // Shapes come from the metadata's input shape.
        QCOMPARE(findSite(*m, "layer2.relu")->shape, (std::vector<std::int64_t>{32, 14, 14}));
        QCOMPARE(findSite(*m, "layer2.relu")->elementsPerImage, qint64(32 * 14 * 14));
        // Consumers with geometry: the block output feeds the next block's strided conv and its downsample.
        const Site *out1 = findSite(*m, "layer1.relu#2");
        QCOMPARE(int(out1->consumers.size()), 2);
        const auto &conv = out1->consumers[0];
        QCOMPARE(QString::fromStdString(conv.name), QStringLiteral("layer2.conv1"));
        QCOMPARE(conv.kind, LayerKind::Conv2d);
        QCOMPARE(conv.strideH, 2);
        QCOMPARE(conv.padH, 1);
        QCOMPARE(conv.inChannels, qint64(16));
        QCOMPARE(conv.outChannels, qint64(32));
        QCOMPARE(conv.outputShape, (std::vector<std::int64_t>{32, 14, 14}));
        QCOMPARE(conv.denseMacs, qint64(32 * 14 * 14 * 16 * 9));
        // The stem's output also feeds layer1's residual add, which stays an add although capture folds it into the
        // probe of layer1.relu#2.
        const Site *stem = findSite(*m, "relu");
        QCOMPARE(int(stem->consumers.size()), 2);
        QCOMPARE(stem->consumers[1].kind, LayerKind::Add);
        QCOMPARE(QString::fromStdString(stem->consumers[1].op), QStringLiteral("aten::add_"));
        // Every conv/linear layer is listed in execution order with the site it reads.
        QCOMPARE(int(m->layers().size()), 10);
        for (const auto &layer : m->layers())
            QVERIFY(layer.inputSite >= 0);
        QCOMPARE(QString::fromStdString(m->sites()[std::size_t(m->layers().front().inputSite)].name), QStringLiteral("input"));
        // Execution order: the stem's relu runs first among activations.
        QVERIFY(findSite(*m, "relu")->depth < findSite(*m, "layer3.relu#2")->depth);
    }

    void sampleModelsLoadInPlainPyTorch()
    {
        if (!testmodels::pythonTorchAvailable())
            QSKIP("python3-torch is not installed (scripts/install-deps.sh installs it)");
        QProcess py;
        py.start(QStringLiteral("/usr/bin/python3"),
                 {QStringLiteral("-c"),
                  QStringLiteral("import json, sys, torch\n"
                                 "for path in sys.argv[1:]:\n"
                                 "    extra = {'sparsity_metadata.json': ''}\n"
                                 "    m = torch.jit.load(path, _extra_files=extra)\n"
                                 "    meta = json.loads(extra['sparsity_metadata.json'])\n"
                                 "    print(tuple(m(torch.zeros(2, *meta['input']['shape'])).shape), len(meta['classes']))\n"),
                  testmodels::sampleModel("sample-resnet"), testmodels::sampleModel("sample-mobilenetv2")});
        QVERIFY(py.waitForFinished(120000));
        QVERIFY2(py.exitCode() == 0, py.readAllStandardError().constData());
        QCOMPARE(py.readAllStandardOutput(), QByteArray("(2, 10) 10\n(2, 10) 10\n"));
    }

    void sampleMobileNetDepthwise()
    {
        const QString file = testmodels::sampleModel("sample-mobilenetv2");
        if (!QFile::exists(file))
            QFAIL("sample-mobilenetv2.pt is missing from sampledata/models");
        auto m = Model::load(file.toStdString());
        int relu6 = 0;
        bool sawDepthwise = false;
        for (const auto &s : m->sites()) {
            if (s.kind == ActivationKind::Relu6)
                ++relu6;
            for (const auto &c : s.consumers)
                if (c.kind == LayerKind::Conv2d && c.groups > 1 && c.groups == c.inChannels)
                    sawDepthwise = true;
        }
        QCOMPARE(relu6, 1 + 5 * 2 + 1);
        QVERIFY(sawDepthwise);
        // The linear bottleneck outputs feed the next block directly: their taps are dense sites with a reason.
        const Site *tap = findSite(*m, "block2.expand.conv.input");
        QVERIFY(tap);
        QVERIFY(!tap->sparsifiable);
        QVERIFY(!tap->denseReason.empty());
    }

    void reusedModuleGivesOneSitePerCall_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("scripted") << QStringLiteral("reused_scripted.pt");
        QTest::newRow("traced") << QStringLiteral("reused_traced.pt");
    }
    void reusedModuleGivesOneSitePerCall()
    {
        QFETCH(QString, file);
        auto m = Model::load(dir_.filePath(file).toStdString());
        QCOMPARE(siteNames(*m), (std::vector<std::string>{"relu", "relu#2", "relu#3"}));
    }

    void scriptedAndTracedNamesAgree_data()
    {
        QTest::addColumn<QString>("base");
        QTest::newRow("reused") << QStringLiteral("reused");
        QTest::newRow("relu6 in if") << QStringLiteral("branch_relu6");
        QTest::newRow("torchvision resnet18") << QStringLiteral("tv_resnet18");
        QTest::newRow("torchvision mobilenet_v2") << QStringLiteral("tv_mobilenet_v2");
    }
    void scriptedAndTracedNamesAgree()
    {
        QFETCH(QString, base);
        const QString scripted = dir_.filePath(base + QStringLiteral("_scripted.pt"));
        if (!QFile::exists(scripted))
            QSKIP("torchvision is not installed");
        auto a = Model::load(scripted.toStdString());
        auto b = Model::load(dir_.filePath(base + QStringLiteral("_traced.pt")).toStdString());
        QCOMPARE(siteNames(*a, false), siteNames(*b, false));
        QVERIFY(!siteNames(*a).empty());
        for (std::size_t i = 0; i < a->sites().size(); ++i)
            QCOMPARE(int(a->sites()[i].kind), int(b->sites()[i].kind));
        // Shapes known (after one forward pass) change nothing in the lists.
        const std::vector<std::int64_t> shape = base.startsWith(QLatin1String("tv_")) ? std::vector<std::int64_t>{3, 64, 64}
                                                                                      : std::vector<std::int64_t>{3, 16, 16};
        a->setInputShape(shape);
        b->setInputShape(shape);
        QCOMPARE(siteNames(*a, false), siteNames(*b, false));
    }

    void torchvisionResNet18HasSeventeenReluSites()
    {
        if (!QFile::exists(path("tv_resnet18_scripted.pt")))
            QSKIP("torchvision is not installed");
        auto m = load("tv_resnet18_scripted.pt");
        QCOMPARE(int(siteNames(*m).size()), 17); // stem + 8 basic blocks x 2 calls of one ReLU module
        QVERIFY(findSite(*m, "layer4.1.relu#2"));
        m->setInputShape({3, 64, 64});
        QCOMPARE(findSite(*m, "layer4.1.relu#2")->shape, (std::vector<std::int64_t>{512, 2, 2}));
    }

    // Every ReLU site of torchvision's ResNet-18 (scripted and traced) folds the BatchNorm before it (and the
    // residual add, in the second ReLU call of each block) while capturing: the feature maps and statistics equal
    // those of aten's own BatchNorm and add byte for byte.
    void torchvisionResNet18FoldsItsBatchNorms_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("scripted") << QStringLiteral("tv_resnet18_scripted.pt");
        QTest::newRow("traced") << QStringLiteral("tv_resnet18_traced.pt");
    }
    void torchvisionResNet18FoldsItsBatchNorms()
    {
        QFETCH(QString, file);
        if (!QFile::exists(dir_.filePath(file)))
            QSKIP("torchvision is not installed");
        if (!compressedStatisticsAvailable())
            QSKIP("the probes fold a BatchNorm only with the AVX-512 statistics pass");
        auto m = Model::load(dir_.filePath(file).toStdString());
        m->setInputShape({3, 128, 128}); // layer4's maps are then 4x4: planes under 16 elements are not folded
        const Batch b = testmodels::syntheticBatch(3, 3, 128, 128, 11);
        CaptureOptions options;
        options.keepFeatureMaps = b.indices;
        const auto folded = capture(*m, {b}, options);
        const auto folds = m->batchNormFolds();
        QCOMPARE(int(std::count(folds.begin(), folds.end(), Model::BatchNormFold::Exact)), 17);
        setBatchNormFolding(false);
        const auto plain = capture(*m, {b}, options);
        setBatchNormFolding(true);
        QCOMPARE(folded.kept.size(), std::size_t(3));
        for (std::size_t i = 0; i < folded.kept.size(); ++i)
            for (std::size_t s = 0; s < folded.kept[i].siteMaps.size(); ++s) {
                const auto &x = folded.kept[i].siteMaps[s], &y = plain.kept[i].siteMaps[s];
                QCOMPARE(x.size(), y.size());
                QVERIFY(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0);
            }
        for (std::size_t s = 0; s < folded.sites.size(); ++s) {
            QCOMPARE(folded.sites[s].zeros, plain.sites[s].zeros);
            QCOMPARE(folded.sites[s].positive.counts(), plain.sites[s].positive.counts());
        }
    }

    // Scripted, `if self.use_res_connect:` holds a copy of each block in both branches; the condition is a bool
    // module attribute, folded at load, so only the branch that runs is listed: 35 ReLU6 sites, as traced.
    void torchvisionMobileNetV2ListsOnlyTheBranchThatRuns()
    {
        if (!QFile::exists(path("tv_mobilenet_v2_scripted.pt")))
            QSKIP("torchvision is not installed");
        auto m = load("tv_mobilenet_v2_scripted.pt");
        int inIf = 0, relu6 = 0;
        for (const auto &s : m->sites())
            if (s.kind == ActivationKind::Relu6) {
                ++relu6;
                inIf += s.inControlFlow;
                QVERIFY2(s.name.find('#') == std::string::npos, s.name.c_str());
            }
        QCOMPARE(relu6, 35);
        QCOMPARE(inIf, 0);
        m->setInputShape({3, 64, 64});
        int executed = 0;
        for (const auto &s : m->sites())
            if (s.kind == ActivationKind::Relu6 && m->siteExecuted(s.index))
                ++executed;
        QCOMPARE(executed, 35);
    }

    void relu6InsideIfIsASite()
    {
        auto m = load("branch_relu6_scripted.pt");
        QCOMPARE(siteNames(*m), (std::vector<std::string>{"act"}));
        QCOMPARE(m->sites()[0].kind, ActivationKind::Relu6);
        QVERIFY(m->sites()[0].inControlFlow);
        m->setInputShape({3, 16, 16});
        QVERIFY(m->siteExecuted(0));
        QCOMPARE(m->sites()[0].shape, (std::vector<std::int64_t>{4, 16, 16}));
    }

    void activationInsideLoop()
    {
        auto m = load("loop_scripted.pt");
        QCOMPARE(siteNames(*m), (std::vector<std::string>{"relu"}));
        QVERIFY(m->sites()[0].inControlFlow);
    }

    void denseActivationsAreListedWithAReason()
    {
        auto m = load("dict_scripted.pt");
        const Site *silu = findSite(*m, "act");
        QVERIFY(silu);
        QCOMPARE(silu->kind, ActivationKind::Dense);
        QVERIFY(!silu->sparsifiable);
        QVERIFY(QString::fromStdString(silu->denseReason).contains(QStringLiteral("SiLU")));
        QVERIFY(findSite(*m, "relu")->sparsifiable);
    }

    void clampWithMinZeroIsASite()
    {
        auto m = load("tuple_scripted.pt");
        QCOMPARE(m->sites()[0].kind, ActivationKind::ClampMin);
    }

    void malformedFilesGiveErrors_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("expected");
        QTest::newRow("empty") << QByteArray() << QStringLiteral("not a TorchScript archive");
        QTest::newRow("text") << QByteArray("hello, this is not a model\n") << QStringLiteral("not a TorchScript archive");
        QByteArray zipHeader("PK\x03\x04", 4);
        QTest::newRow("zip garbage") << (zipHeader + QByteArray(200, 'x')) << QStringLiteral("damaged zip archive (no end-of-directory record)");
        QFile sample(testmodels::sampleModel("sample-resnet"));
        QVERIFY(sample.open(QIODevice::ReadOnly));
        const QByteArray whole = sample.readAll();
        QTest::newRow("truncated") << whole.left(whole.size() / 2) << QStringLiteral("truncated");
    }
    void malformedFilesGiveErrors()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, expected);
        const QString file = dir_.filePath(QStringLiteral("bad.pt"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(content);
        f.close();
        try {
            Model::load(file.toStdString());
            QFAIL("loading a malformed model did not throw");
        } catch (const Error &e) {
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.contains(file), qPrintable(message));
            QVERIFY2(message.contains(expected), qPrintable(message));
        }
    }

    void missingFileGivesError()
    {
        QVERIFY_THROWS_EXCEPTION(Error, Model::load(path("does-not-exist.pt").toStdString()));
    }

    void forwardWithTwoInputsIsRefused()
    {
        try {
            load("two_inputs_scripted.pt");
            QFAIL("a two-input forward was accepted");
        } catch (const Error &e) {
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.contains(QStringLiteral("forward(x: Tensor, y: Tensor)")), qPrintable(message));
        }
    }

    void wrongInputShapeSaysWhatTheModelWanted()
    {
        auto m = Model::load(testmodels::sampleModel("sample-resnet").toStdString());
        try {
            m->setInputShape({3, 28, 28});
            QFAIL("a 3-channel input was accepted by a 1-channel model");
        } catch (const Error &e) {
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.contains(QStringLiteral("expects 1 input channels")), qPrintable(message));
            QVERIFY2(message.contains(QStringLiteral("[1, 3, 28, 28]")), qPrintable(message));
        }
        // The model stays usable with its own shape.
        m->setInputShape({1, 28, 28});
        QCOMPARE(m->inputShape(), (std::vector<std::int64_t>{1, 28, 28}));
    }
};

QTEST_GUILESS_MAIN(TestModel)
#include "tst_model.moc"
