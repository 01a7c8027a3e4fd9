// Evaluation as a call with its own thresholds, and capture on the model's frozen, inference-optimised copy,
// compared with the instrumented model's own path on the sample models and exported fixtures.
#include "capture/capture.h"
#include "data/dataset.h"
#include "error.h"
#include "graph/model.h"
#include "graph/weights.h"
#include "testmodels.h"
#include "threads.h"

#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace sparsity;

namespace {

// Thresholds that zero about `sparsity` of every sparsifiable site's output in `baseline`.
Thresholds thresholdsFor(const Model &model, const CaptureResult &baseline, double sparsity)
{
    Thresholds t{std::vector<float>(model.sites().size(), 0.0f), {}};
    for (std::size_t i = 0; i < t.scalar.size(); ++i)
        if (model.sites()[i].sparsifiable)
            t.scalar[i] = float(baseline.sites[i].thresholdForSparsity(sparsity));
    return t;
}

bool sameStats(const SiteStats &a, const SiteStats &b)
{
    return a.elements == b.elements && a.zeros == b.zeros && a.sum == b.sum && a.min == b.min && a.max == b.max &&
           a.channelNonzero == b.channelNonzero && a.spatialNonzero == b.spatialNonzero;
}

} // namespace

class TestInference : public QObject {
    Q_OBJECT
    std::unique_ptr<Dataset> test_;
    std::shared_ptr<Model> resnet_;
    std::vector<Batch> batches_;

private Q_SLOTS:
    void initTestCase()
    {
        test_ = openDataset(testmodels::sampleData().toStdString(), Split::Test);
        resnet_ = Model::load(testmodels::sampleModel("sample-resnet").toStdString());
        batches_ = loadBatches(*test_, resnet_->defaultPreprocessing(), firstN(*test_, 256), 64);
    }

    // The call's thresholds give what the same values set on the model give, and the model's own are back after.
    void thresholdsAreAValueOfTheCall()
    {
        const auto baseline = capture(*resnet_, batches_);
        const auto t = thresholdsFor(*resnet_, baseline, 0.7);
        CaptureOptions options;
        options.thresholds = t;
        const auto byCall = capture(*resnet_, batches_, options);
        QCOMPARE(resnet_->thresholds(), std::vector<float>(resnet_->sites().size(), 0.0f));
        resnet_->setThresholds(t.scalar);
        const auto bySetter = capture(*resnet_, batches_);
        resnet_->setThresholds(std::vector<float>(resnet_->sites().size(), 0.0f));
        QCOMPARE(byCall.predictions, bySetter.predictions);
        for (std::size_t i = 0; i < byCall.sites.size(); ++i)
            QVERIFY2(sameStats(byCall.sites[i], bySetter.sites[i]), resnet_->sites()[i].name.c_str());
        std::vector<bool> sparsifiable;
        for (const auto &s : resnet_->sites())
            sparsifiable.push_back(s.sparsifiable);
        QVERIFY(byCall.activationSparsity(sparsifiable) > baseline.activationSparsity(sparsifiable) + 0.1);
    }

    // One rule clamps and checks, whichever way thresholds enter: negative and NaN mean 0, dense sites have none,
    // wrong counts are refused naming the model.
    void thresholdsAreCheckedOnce()
    {
        const int tap = resnet_->layers().front().inputSite;
        Thresholds t{std::vector<float>(resnet_->sites().size(), 0.0f), {}};
        t.scalar[std::size_t(tap)] = 5.0f;
        t.scalar[0] = -1.0f;
        t.scalar[1] = std::nanf("");
        const auto checked = checkedThresholds(resnet_->sites(), t, resnet_->path());
        QCOMPARE(checked.scalar[std::size_t(tap)], 0.0f);
        QCOMPARE(checked.scalar[0], 0.0f);
        QCOMPARE(checked.scalar[1], 0.0f);
        resnet_->setThresholds(t.scalar);
        QCOMPARE(resnet_->thresholds(), checked.scalar);
        resnet_->setThresholds(std::vector<float>(resnet_->sites().size(), 0.0f));

        CaptureOptions options;
        options.thresholds = Thresholds{{0.5f}, {}};
        const QString count = testmodels::errorOf([&] { capture(*resnet_, batches_, options); });
        QVERIFY2(count.contains(QStringLiteral("1 values given")) && count.contains(QString::fromStdString(resnet_->path())),
                 qPrintable(count));
        options.thresholds = Thresholds{std::vector<float>(resnet_->sites().size(), 0.0f), {{1.0f, 2.0f, 3.0f}}};
        const QString channels = testmodels::errorOf([&] { capture(*resnet_, batches_, options); });
        QVERIFY2(channels.contains(QStringLiteral("3 per-channel values")) &&
                     channels.contains(QString::fromStdString(resnet_->sites()[0].name)),
                 qPrintable(channels));
        QCOMPARE(resnet_->thresholds(), std::vector<float>(resnet_->sites().size(), 0.0f));
    }

    // The copy folds each BatchNorm into its convolution: the activations round differently, so zero counts and
    // predictions may differ by a hair. Stated tolerance (docs/engine.md): per site at most 1e-4 of the elements
    // differ in being zero, 99 % of the predictions agree; same element counts; the image tap before any
    // arithmetic is bit for bit the same.
    void inferenceCopyMatchesTheModel_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<double>("sparsity");
        for (const char *name : {"sample-resnet", "sample-mobilenetv2"}) {
            QTest::addRow("%s at 0", name) << QString::fromLatin1(name) << 0.0;
            QTest::addRow("%s at 60 %%", name) << QString::fromLatin1(name) << 0.6;
        }
    }
    void inferenceCopyMatchesTheModel()
    {
        QFETCH(QString, model);
        QFETCH(double, sparsity);
        auto m = Model::load(testmodels::sampleModel(model.toUtf8().constData()).toStdString());
        const auto batches = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 256), 64);
        CaptureOptions own;
        if (sparsity > 0.0)
            own.thresholds = thresholdsFor(*m, capture(*m, batches), sparsity);
        CaptureOptions copy = own;
        copy.inferenceCopy = true;
        const auto a = capture(*m, batches, own);
        const auto b = capture(*m, batches, copy);
        QVERIFY2(m->inferenceCopyProblem().empty(), m->inferenceCopyProblem().c_str());
        QCOMPARE(m->inferenceCopyBuilds(), 1);
        QCOMPARE(a.images, b.images);
        std::size_t agree = 0;
        for (std::size_t i = 0; i < a.predictions.size(); ++i)
            agree += a.predictions[i] == b.predictions[i] ? 1 : 0;
        QVERIFY2(double(agree) >= 0.99 * double(a.predictions.size()), qPrintable(QString::number(agree)));
        int exactSites = 0;
        for (std::size_t i = 0; i < a.sites.size(); ++i) {
            const auto &x = a.sites[i], &y = b.sites[i];
            QCOMPARE(x.elements, y.elements);
            QVERIFY2(double(std::abs(x.zeros - y.zeros)) <= 1e-4 * double(x.elements) + 1.0,
                     qPrintable(QStringLiteral("%1: %2 vs %3 zeros").arg(QString::fromStdString(m->sites()[i].name)).arg(x.zeros).arg(y.zeros)));
            QVERIFY(std::abs(x.sum - y.sum) <= 1e-3 * std::abs(x.sum) + 1e-3);
            exactSites += sameStats(x, y) ? 1 : 0;
        }
        const int tap = m->layers().front().inputSite;
        QVERIFY(tap >= 0);
        QVERIFY(sameStats(a.sites[std::size_t(tap)], b.sites[std::size_t(tap)]));
        QVERIFY(exactSites >= 1);
    }

    // In the copy the residual adds and the ReLU6 clamps ride on their sites' probes (the sample ResNet's three adds,
    // the sample MobileNetV2's twelve ReLU6) and the BatchNorms are folded into the (channels-last) convolutions.
    // Per-channel thresholds of the same value in every channel send the probes down the unfused path (aten::add or
    // aten::hardtanh, then the activation's probe: the threshold and the scan): every statistic and prediction must
    // be the same.
    void copyFoldsIntoProbesExactly_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<int>("addRelus");
        QTest::addColumn<int>("relus");
        QTest::addColumn<int>("clamps");
        QTest::addColumn<bool>("compressed");
        for (bool compressed : {false, true}) {
            if (compressed && !compressedStatisticsAvailable())
                continue;
            const char *kernel = compressed ? "AVX-512 scan" : "portable scan";
            QTest::addRow("sample-resnet, %s", kernel) << QStringLiteral("sample-resnet") << 3 << 4 << 0 << compressed;
            QTest::addRow("sample-mobilenetv2, %s", kernel) << QStringLiteral("sample-mobilenetv2") << 0 << 0 << 12 << compressed;
        }
    }
    void copyFoldsIntoProbesExactly()
    {
        QFETCH(QString, model);
        QFETCH(int, addRelus);
        QFETCH(int, relus);
        QFETCH(int, clamps);
        QFETCH(bool, compressed);
        setCompressedStatistics(compressed);
        const auto restore = qScopeGuard([] { setCompressedStatistics(true); });
        auto m = Model::load(testmodels::sampleModel(model.toUtf8().constData()).toStdString());
        CaptureOptions copy;
        copy.inferenceCopy = true;
        const auto baseline = capture(*m, batches_, copy);
        const std::string graph = m->inferenceCopyGraphText();
        QCOMPARE(int(testmodels::occurrences(graph, "sparsity::probe_add_relu(")), addRelus);
        QCOMPARE(int(testmodels::occurrences(graph, "sparsity::probe_relu(")), relus);
        QCOMPARE(int(testmodels::occurrences(graph, "sparsity::probe_clamp(")), clamps);
        QCOMPARE(int(testmodels::occurrences(graph, "hardtanh")), 0);
        QCOMPARE(int(testmodels::occurrences(graph, "batch_norm")), 0);
        copy.thresholds = thresholdsFor(*m, baseline, 0.5);
        const auto fused = capture(*m, batches_, copy);
        for (const auto &site : m->sites())
            copy.thresholds->perChannel.push_back(
                site.sparsifiable ? std::vector<float>(std::size_t(site.shape[0]), copy.thresholds->scalar[std::size_t(site.index)])
                                  : std::vector<float>());
        const auto unfused = capture(*m, batches_, copy);
        QCOMPARE(m->inferenceCopyBuilds(), 1);
        QCOMPARE(fused.predictions, unfused.predictions);
        std::int64_t added = 0;
        for (std::size_t i = 0; i < fused.sites.size(); ++i) {
            QVERIFY2(sameStats(fused.sites[i], unfused.sites[i]), m->sites()[i].name.c_str());
            QCOMPARE(fused.sites[i].positive.counts(), unfused.sites[i].positive.counts());
            added += fused.sites[i].zeros - baseline.sites[i].zeros;
        }
        QVERIFY(added > 0);
    }

    // A threshold change reuses the copy; a change of the weights (tuned weights loaded in place) remakes it.
    void copyIsRemadeOnlyWhenTheWeightsChange()
    {
        auto m = Model::load(testmodels::sampleModel("sample-resnet").toStdString());
        CaptureOptions copy;
        copy.inferenceCopy = true;
        const auto first = capture(*m, batches_, copy);
        QCOMPARE(m->inferenceCopyBuilds(), 1);
        copy.thresholds = thresholdsFor(*m, first, 0.5);
        const auto thresholded = capture(*m, batches_, copy);
        QCOMPARE(m->inferenceCopyBuilds(), 1);
        QVERIFY(thresholded.sites[2].zeros > first.sites[2].zeros);

        QTemporaryDir dir;
        const std::string weights = dir.filePath(QStringLiteral("w.pt")).toStdString();
        saveWeights(*m, weights);
        loadWeights(*m, weights);
        const auto again = capture(*m, batches_, copy);
        QCOMPARE(m->inferenceCopyBuilds(), 2);
        QCOMPARE(again.predictions, thresholded.predictions);
        for (std::size_t i = 0; i < again.sites.size(); ++i)
            QVERIFY(sameStats(again.sites[i], thresholded.sites[i]));
    }

    // A change after a cut point restarts from the cached feature maps, and gives what a full evaluation gives,
    // bit for bit; a change before every cut, or new weights, starts from the images again.
    void downstreamReevaluationEqualsFullEvaluation()
    {
        auto m = Model::load(testmodels::sampleModel("sample-resnet").toStdString());
        CachedEvaluation evaluation(m, batches_);
        Thresholds zero{std::vector<float>(m->sites().size(), 0.0f), {}};
        const auto first = evaluation.evaluate(zero);
        QCOMPARE(evaluation.lastStartSite(), -1);
        const auto cuts = evaluation.cutPoints();
        QVERIFY(!cuts.empty());
        std::size_t bytes = 0;
        for (const auto &c : cuts) {
            QVERIFY(c.filled);
            bytes += c.bytes;
        }
        QCOMPARE(evaluation.cachedBytes(), bytes);

        auto full = [&](const Thresholds &t) {
            CaptureOptions options;
            options.thresholds = t;
            options.inferenceCopy = true;
            return capture(*m, batches_, options);
        };
        auto same = [&](const CaptureResult &a, const CaptureResult &b) {
            QCOMPARE(a.predictions, b.predictions);
            QCOMPARE(a.top1Correct, b.top1Correct);
            for (std::size_t i = 0; i < a.sites.size(); ++i)
                QVERIFY2(sameStats(a.sites[i], b.sites[i]), m->sites()[i].name.c_str());
        };
        // The last sparsifiable site, which every cut precedes.
        int last = -1;
        for (const auto &site : m->sites())
            if (site.sparsifiable)
                last = site.index;
        const auto sixty = thresholdsFor(*m, first, 0.6);
        Thresholds late = zero;
        late.scalar[std::size_t(last)] = sixty.scalar[std::size_t(last)];
        const auto fromCut = evaluation.evaluate(late);
        QCOMPARE(evaluation.lastStartSite(), cuts.front().site);
        same(fromCut, full(late));
        QVERIFY(fromCut.sites[std::size_t(last)].zeros > first.sites[std::size_t(last)].zeros);

        Thresholds early = late;
        early.scalar[0] = sixty.scalar[0];
        QVERIFY(m->sites()[0].sparsifiable);
        const auto fromImages = evaluation.evaluate(early);
        QCOMPARE(evaluation.lastStartSite(), -1);
        same(fromImages, full(early));
        // The cache now holds `early`'s feature maps: the same change at the last site starts from a cut again.
        Thresholds earlyAndLast = early;
        earlyAndLast.scalar[std::size_t(last)] *= 1.5f;
        same(evaluation.evaluate(earlyAndLast), full(earlyAndLast));
        QCOMPARE(evaluation.lastStartSite(), cuts.front().site);

        QTemporaryDir dir;
        const std::string weights = dir.filePath(QStringLiteral("w.pt")).toStdString();
        saveWeights(*m, weights);
        loadWeights(*m, weights);
        same(evaluation.evaluate(earlyAndLast), full(earlyAndLast));
        QCOMPARE(evaluation.lastStartSite(), -1);
    }

    // A budget too small for any cut point: every evaluation starts from the images, and still gives the result.
    void noCacheWithinATinyBudget()
    {
        CachedEvaluation evaluation(resnet_, batches_, 1024);
        Thresholds zero{std::vector<float>(resnet_->sites().size(), 0.0f), {}};
        const auto a = evaluation.evaluate(zero);
        QVERIFY(evaluation.cutPoints().empty());
        QCOMPARE(evaluation.cachedBytes(), std::size_t(0));
        const auto b = evaluation.evaluate(zero);
        QCOMPARE(evaluation.lastStartSite(), -1);
        QCOMPARE(a.predictions, b.predictions);
    }

    // Exported fixtures: ReLU6 inside prim::If (scripted MobileNetV2's pattern), a loop, a reused ReLU module.
    void inferenceCopyOfFixtures_data()
    {
        QTest::addColumn<QString>("file");
        for (const char *f : {"branch_relu6_scripted.pt", "loop_scripted.pt", "reused_traced.pt", "squeeze_excite_scripted.pt"})
            QTest::newRow(f) << QString::fromLatin1(f);
    }
    void inferenceCopyOfFixtures()
    {
        if (!testmodels::pythonTorchAvailable())
            QSKIP("python3-torch is not installed");
        static QTemporaryDir fixtures;
        static const QString error = testmodels::exportModels(fixtures.path(), false);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QFETCH(QString, file);
        auto m = Model::load(fixtures.filePath(file).toStdString());
        m->setInputShape({3, 16, 16});
        const std::vector<Batch> batches{testmodels::syntheticBatch(8, 3, 16, 16, 7)};
        CaptureOptions copy;
        copy.inferenceCopy = true;
        const auto a = capture(*m, batches), b = capture(*m, batches, copy);
        QVERIFY2(m->inferenceCopyProblem().empty(), m->inferenceCopyProblem().c_str());
        bool withinTolerance = true;
        for (std::size_t i = 0; i < a.sites.size(); ++i) {
            QCOMPARE(a.sites[i].elements, b.sites[i].elements);
            withinTolerance &= std::abs(a.sites[i].zeros - b.sites[i].zeros) <= 1 + a.sites[i].elements / 10000;
        }
        QVERIFY(withinTolerance);
    }
};

QTEST_GUILESS_MAIN(TestInference)
#include "tst_inference.moc"
