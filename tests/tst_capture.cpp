// Capture and evaluation on real models and data: statistics against a brute-force count, threshold
// semantics, bit-exactness at threshold 0, accuracy of the sample models, export round trips.
#include "capture/capture.h"
#include "data/dataset.h"
#include "error.h"
#include "graph/model.h"
#include "datasetfixtures.h"
#include "capture/loghistogram.h"
#include "io/report.h"
#include "texttables.h"
#include "testmodels.h"
#include "tune/thresholdsearch.h"
#include "threads.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QProcess>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace sparsity;

namespace {

// How many ReLU sites of the model run as fused probes (probe_relu nodes in its instrumented graph, or the probes
// that fold a BatchNorm, and a residual add, into them).
std::size_t fusedReluProbes(const Model &model)
{
    const std::string graph = model.instrumentedGraphText();
    return testmodels::occurrences(graph, "sparsity::probe_relu(") + testmodels::occurrences(graph, "sparsity::probe_bn_relu(") +
           testmodels::occurrences(graph, "sparsity::probe_bn_add_relu(");
}

int countFolds(const Model &model, Model::BatchNormFold kind)
{
    const auto folds = model.batchNormFolds();
    return int(std::count(folds.begin(), folds.end(), kind));
}

// ATen runs its AVX2 or AVX-512 kernels (which use FMAs, as the fold does) unless told otherwise.
bool atenUsesFma()
{
    const auto level = qEnvironmentVariable("ATEN_CPU_CAPABILITY");
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && level != QLatin1String("default");
}

} // namespace

class TestCapture : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::unique_ptr<Dataset> test_;
    std::shared_ptr<Model> resnet_;
    QTemporaryDir fixtures_;
    bool fixturesExported_ = false;
    QString fixturesError_;

    // The models of tests/fixtures/make_test_models.py, exported once per run for the tests that load them;
    // returns the export's error text (empty: they are in fixtures_).
    QString exportFixtures()
    {
        if (!fixturesExported_) {
            fixturesExported_ = true;
            fixturesError_ = testmodels::exportModels(fixtures_.path(), false);
        }
        return fixturesError_;
    }

    // The fixture models exported (once per run); false when the test cannot go on: skipped without python3-torch,
    // failed when the export fails.
    bool fixturesReady()
    {
        if (!testmodels::pythonTorchAvailable()) {
            QTest::qSkip("python3-torch is not installed", __FILE__, __LINE__);
            return false;
        }
        if (const QString error = exportFixtures(); !error.isEmpty()) {
            QTest::qFail(qPrintable(error), __FILE__, __LINE__);
            return false;
        }
        return true;
    }

    // The statistics kernel of the current data row (kernelRows' column); cleanup() restores it.
    void useKernelOfRow()
    {
        QFETCH(bool, compressed);
        setCompressedStatistics(compressed);
    }

    // The statistics kernels as data rows (column "compressed"; useKernelOfRow() picks the row's).
    static void kernelRows()
    {
        QTest::addColumn<bool>("compressed");
        QTest::newRow("portable scan") << false;
        if (compressedStatisticsAvailable())
            QTest::newRow("AVX-512 compressed scan") << true;
    }

    // A fixture model with a 3x16x16 input (exportFixtures() first).
    std::shared_ptr<Model> fixtureModel(const char *file)
    {
        auto m = Model::load(fixtures_.filePath(QString::fromLatin1(file)).toStdString());
        m->setInputShape({3, 16, 16});
        return m;
    }

private Q_SLOTS:
    void cleanup() { setCompressedStatistics(true); } // a test on the portable kernel leaves the default behind
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        test_ = openDataset(testmodels::sampleData().toStdString(), Split::Test);
        QCOMPARE(test_->size(), std::size_t(2000));
        resnet_ = Model::load(testmodels::sampleModel("sample-resnet").toStdString());
    }

    void sampleModelsReachTheirRecordedAccuracy_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow("resnet") << QStringLiteral("sample-resnet");
        QTest::newRow("mobilenetv2") << QStringLiteral("sample-mobilenetv2");
    }
    void sampleModelsReachTheirRecordedAccuracy()
    {
        QFETCH(QString, name);
        auto m = Model::load(testmodels::sampleModel(name.toUtf8().constData()).toStdString());
        QVERIFY(m->metadata().recordedTop1 > 0);
        CaptureOptions options;
        options.collectStats = false;
        const auto r = capture(*m, *test_, m->defaultPreprocessing(), firstN(*test_, 2000), options);
        QCOMPARE(r.images, qint64(2000));
        QVERIFY2(std::abs(r.top1() - m->metadata().recordedTop1) <= 1.0,
                 qPrintable(QStringLiteral("measured %1 %, recorded %2 %").arg(r.top1()).arg(m->metadata().recordedTop1)));
        QVERIFY(r.top5() >= r.top1());
        qint64 perClass = 0;
        for (auto c : r.classTotal)
            perClass += c;
        QCOMPARE(perClass, qint64(2000));
    }

    // Also on the inference copy, whose maps are channels-last (scanned one position's channels at a time) and whose
    // residual adds ride on the probes.
    void statisticsMatchBruteForce_data()
    {
        QTest::addColumn<bool>("compressed");
        QTest::addColumn<bool>("inferenceCopy");
        for (bool copy : {false, true}) {
            QTest::addRow("portable scan%s", copy ? ", inference copy" : "") << false << copy;
            if (compressedStatisticsAvailable())
                QTest::addRow("AVX-512 compressed scan%s", copy ? ", inference copy" : "") << true << copy;
        }
    }
    void statisticsMatchBruteForce()
    {
        useKernelOfRow();
        QFETCH(bool, inferenceCopy);
        // Keep the feature maps of every image, then recount them by hand.
        const auto indices = firstN(*test_, 40);
        CaptureOptions options;
        options.batchSize = 16;
        options.keepFeatureMaps = indices;
        options.inferenceCopy = inferenceCopy;
        const auto r = capture(*resnet_, *test_, resnet_->defaultPreprocessing(), indices, options);
        QVERIFY2(resnet_->inferenceCopyProblem().empty(), resnet_->inferenceCopyProblem().c_str());
        QCOMPARE(int(r.kept.size()), 40);
        for (std::size_t s = 0; s < resnet_->sites().size(); ++s) {
            const auto &stats = r.sites[s];
            std::int64_t zeros = 0, elements = 0, negatives = 0;
            std::vector<std::int64_t> channels(std::size_t(resnet_->sites()[s].shape[0]), 0);
            const std::int64_t plane = resnet_->sites()[s].elementsPerImage / std::int64_t(channels.size());
            LogHistogram hist;
            std::vector<std::int64_t> positions(std::size_t(plane), 0);
            double sum = 0.0;
            float lo = INFINITY, hi = -INFINITY;
            for (const auto &img : r.kept) {
                const auto &map = img.siteMaps[s];
                QCOMPARE(std::int64_t(map.size()), resnet_->sites()[s].elementsPerImage);
                for (std::size_t i = 0; i < map.size(); ++i) {
                    ++elements;
                    sum += double(map[i]);
                    lo = std::min(lo, map[i]);
                    hi = std::max(hi, map[i]);
                    if (map[i] != 0.0f)
                        ++positions[i % std::size_t(plane)];
                    if (map[i] == 0.0f)
                        ++zeros;
                    else if (map[i] < 0.0f)
                        ++negatives;
                    else {
                        hist.add(map[i]);
                        ++channels[i / std::size_t(plane)];
                    }
                }
            }
            if (resnet_->sites()[s].shape.size() == 3)
                QCOMPARE(stats.spatialNonzero, positions);
            QCOMPARE(stats.min, lo);
            QCOMPARE(stats.max, hi);
            QVERIFY2(std::abs(stats.sum - sum) <= 1e-5 * (std::abs(sum) + 1.0), qPrintable(QString::number(stats.sum - sum)));
            QCOMPARE(stats.elements, elements);
            QCOMPARE(stats.zeros, zeros);
            QCOMPARE(stats.negatives, negatives);
            QCOMPARE(stats.zeros + stats.negatives + stats.positive.total(), stats.elements);
            QCOMPARE(stats.positive.counts(), hist.counts());
            if (negatives == 0)
                QCOMPARE(stats.channelNonzero, channels);
            QCOMPARE(stats.images, qint64(40));
        }
        // ReLU outputs are sparse; the image tap is not.
        QVERIFY(r.sites[1].sparsity() > 0.2);
    }

    // Values real feature maps rarely hold, through the model's input tap (a dense site that sees the batch as it
    // is): +0 and -0, NaN, both infinities, denormals, the histogram's underflow and overflow ends.
    void statisticsOfSpecialValues_data() { kernelRows(); }
    void statisticsOfSpecialValues()
    {
        useKernelOfRow();
        const float specials[] = {0.0f, -0.0f, std::nanf(""), -std::nanf(""), INFINITY, -INFINITY, 1e-40f, -1e-40f,
                                  1e-30f, 3e-8f, 0.5f, 1.0f, 7e4f, 3e38f, -2.0f, 1e-6f};
        Batch b = testmodels::syntheticBatch(3, 1, 28, 28, 7);
        for (std::size_t i = 0; i < b.data.size(); ++i)
            if (i % 3 != 0) // keep some ordinary values between the special ones
                b.data[i] = specials[(i * 7) % 16];
        std::size_t tap = resnet_->sites().size();
        for (const auto &site : resnet_->sites())
            if (site.name == "input")
                tap = std::size_t(site.index);
        QVERIFY(tap < resnet_->sites().size());
        const auto r = capture(*resnet_, {b});
        const SiteStats &stats = r.sites[tap];
        std::int64_t zeros = 0, negatives = 0;
        LogHistogram hist;
        float lo = INFINITY, hi = -INFINITY;
        for (float v : b.data) {
            if (v == 0.0f)
                ++zeros;
            else if (v > 0.0f)
                hist.add(v);
            else
                ++negatives; // NaN too: it is not a positive value
            if (!std::isnan(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
        QCOMPARE(stats.elements, std::int64_t(b.data.size()));
        QCOMPARE(stats.zeros, zeros);
        QCOMPARE(stats.negatives, negatives);
        QCOMPARE(stats.positive.counts(), hist.counts());
        QVERIFY(hist.count(0) > 0 && hist.count(LogHistogram::kBinCount - 1) > 0); // both ends were exercised
        QCOMPARE(stats.channelNonzero, (std::vector<std::int64_t>{std::int64_t(b.data.size()) - zeros}));
        QCOMPARE(stats.max, hi); // +inf
        QCOMPARE(stats.min, lo); // -inf
    }

    void thresholdZeroIsBitExact()
    {
        const auto batches = loadBatches(*test_, resnet_->defaultPreprocessing(), firstN(*test_, 64), 64);
        resnet_->setThresholds(std::vector<float>(resnet_->sites().size(), 0.0f));
        const auto plain = forwardOutput(*resnet_, batches[0], false);
        const auto probed = forwardOutput(*resnet_, batches[0], true);
        QCOMPARE(plain.size(), probed.size());
        QVERIFY(std::memcmp(plain.data(), probed.data(), plain.size() * sizeof(float)) == 0);
    }

    // Capture computes a ReLU site's activation, threshold and statistics in one pass; with per-channel thresholds
    // the probe takes the unfused path (aten::relu, then the threshold, then the scan). Equal thresholds in every
    // channel must give the same statistics and predictions on both paths.
    void fusedReluPassMatchesUnfused_data() { kernelRows(); }
    void fusedReluPassMatchesUnfused()
    {
        useKernelOfRow();
        const auto indices = firstN(*test_, 96);
        const auto pre = resnet_->defaultPreprocessing();
        const auto before = capture(*resnet_, *test_, pre, indices);
        const auto restore = qScopeGuard([this] {
            for (const auto &site : resnet_->sites()) {
                resnet_->setChannelThresholds(site.index, {});
                resnet_->setThreshold(site.index, 0.0f);
            }
        });
        int relus = 0;
        for (const auto &site : resnet_->sites())
            if (site.sparsifiable) {
                ++relus;
                const auto &stats = before.sites[std::size_t(site.index)];
                resnet_->setThreshold(site.index, float(stats.thresholdForSparsity(stats.sparsity() + 0.15)));
            }
        QCOMPARE(relus, 7);
        // Every ReLU site of the sample ResNet is a fused probe, and each folds the BatchNorm before it (three of
        // them also the residual add): 4 + 3.
        QCOMPARE(fusedReluProbes(*resnet_), std::size_t(7));
        const std::string graph = resnet_->instrumentedGraphText();
        QCOMPARE(testmodels::occurrences(graph, "sparsity::probe_bn_relu("), std::size_t(4));
        QCOMPARE(testmodels::occurrences(graph, "sparsity::probe_bn_add_relu("), std::size_t(3));
        const auto fused = capture(*resnet_, *test_, pre, indices);
        QCOMPARE(countFolds(*resnet_, Model::BatchNormFold::None), int(resnet_->sites().size()) - 7);
        // The fold runs with the AVX-512 pass only (the portable one would make it slower than aten's BatchNorm).
        QFETCH(bool, compressed);
        if (compressed && atenUsesFma())
            QCOMPARE(countFolds(*resnet_, Model::BatchNormFold::Exact), 7);
        setBatchNormFolding(false);
        const auto notFolded = capture(*resnet_, *test_, pre, indices);
        setBatchNormFolding(true);
        QCOMPARE(notFolded.predictions, fused.predictions);
        for (std::size_t s = 0; s < fused.sites.size(); ++s) {
            QCOMPARE(notFolded.sites[s].zeros, fused.sites[s].zeros);
            QCOMPARE(notFolded.sites[s].positive.counts(), fused.sites[s].positive.counts());
        }
        for (const auto &site : resnet_->sites())
            if (site.sparsifiable)
                resnet_->setChannelThresholds(site.index, std::vector<float>(std::size_t(site.shape[0]),
                                                                             resnet_->thresholds()[std::size_t(site.index)]));
        const auto unfused = capture(*resnet_, *test_, pre, indices);
        QCOMPARE(fused.predictions, unfused.predictions);
        QCOMPARE(fused.top1Correct, unfused.top1Correct);
        QVERIFY(fused.top1Correct != before.top1Correct || fused.sites[0].zeros > before.sites[0].zeros);
        for (std::size_t s = 0; s < fused.sites.size(); ++s) {
            const auto &a = fused.sites[s];
            const auto &b = unfused.sites[s];
            QCOMPARE(a.elements, b.elements);
            QCOMPARE(a.zeros, b.zeros);
            QCOMPARE(a.negatives, b.negatives);
            QCOMPARE(a.positive.counts(), b.positive.counts());
            QCOMPARE(a.channelNonzero, b.channelNonzero);
            QCOMPARE(a.spatialNonzero, b.spatialNonzero);
            QCOMPARE(a.min, b.min);
            QCOMPARE(a.max, b.max);
            QVERIFY(std::abs(a.sum - b.sum) <= 1e-9 * std::abs(b.sum) + 1e-9);
        }
    }

    // The fold is checked against aten's own ops on each site's first batch. Under ATen's DEFAULT kernels (no
    // FMA) it differs, so every folded site falls back to them: statistics and predictions equal the unfused
    // path's. ATen reads its kernel level once per process, so this runs in a child process.
    void batchNormFoldFallsBackWhenAtenDiffers()
    {
        if (!compressedStatisticsAvailable())
            QSKIP("the probes fold a BatchNorm only with the AVX-512 statistics pass");
        if (qEnvironmentVariable("ATEN_CPU_CAPABILITY") != QLatin1String("default")) {
            QProcess child;
            auto env = QProcessEnvironment::systemEnvironment();
            env.insert(QStringLiteral("ATEN_CPU_CAPABILITY"), QStringLiteral("default"));
            child.setProcessEnvironment(env);
            child.setProcessChannelMode(QProcess::MergedChannels);
            child.start(QCoreApplication::applicationFilePath(), {QStringLiteral("batchNormFoldFallsBackWhenAtenDiffers")});
            QVERIFY(child.waitForFinished(600000));
            QVERIFY2(child.exitStatus() == QProcess::NormalExit && child.exitCode() == 0, child.readAll().constData());
            return;
        }
        auto model = Model::load(testmodels::sampleModel("sample-resnet").toStdString());
        const auto indices = firstN(*test_, 96);
        const auto pre = model->defaultPreprocessing();
        QCOMPARE(countFolds(*model, Model::BatchNormFold::Unchecked), 7);
        for (const auto &site : model->sites())
            if (site.sparsifiable)
                model->setThreshold(site.index, 0.1f);
        const auto folded = capture(*model, *test_, pre, indices);
        QCOMPARE(countFolds(*model, Model::BatchNormFold::Differs), 7);
        const auto again = capture(*model, *test_, pre, indices); // the fallback itself, past the first batch
        for (const auto &site : model->sites())
            if (site.sparsifiable)
                model->setChannelThresholds(site.index, std::vector<float>(std::size_t(site.shape[0]), 0.1f));
        const auto unfused = capture(*model, *test_, pre, indices);
        for (const auto *r : {&folded, &again}) {
            QCOMPARE(r->predictions, unfused.predictions);
            for (std::size_t s = 0; s < unfused.sites.size(); ++s) {
                QCOMPARE(r->sites[s].zeros, unfused.sites[s].zeros);
                QCOMPARE(r->sites[s].positive.counts(), unfused.sites[s].positive.counts());
                QCOMPARE(r->sites[s].spatialNonzero, unfused.sites[s].spatialNonzero);
            }
        }
    }

    void thresholdSemantics()
    {
        const auto indices = firstN(*test_, 32);
        CaptureOptions options;
        options.keepFeatureMaps = {indices[3]};
        const auto before = capture(*resnet_, *test_, resnet_->defaultPreprocessing(), indices, options);
        const float t = float(before.sites[2].thresholdForSparsity(before.sites[2].sparsity() + 0.2));
        QVERIFY(t > 0.0f);
        resnet_->setThreshold(2, t);
        const auto after = capture(*resnet_, *test_, resnet_->defaultPreprocessing(), indices, options);
        resnet_->setThreshold(2, 0.0f);
        // y = x if x > t else 0: nothing in (0, t] survives, and the site got sparser.
        for (float v : after.kept[0].siteMaps[2])
            QVERIFY(v == 0.0f || v > t);
        QVERIFY(after.sites[2].sparsity() > before.sites[2].sparsity() + 0.1);
        // The histogram estimate agrees with the measured sparsity at this site (inputs are unchanged here).
        QVERIFY(std::abs(before.sites[2].estimatedSparsityAt(t) - after.sites[2].sparsity()) < 0.02);
        // Dense sites ignore thresholds.
        const int tap = resnet_->layers().front().inputSite;
        resnet_->setThreshold(tap, 5.0f);
        QCOMPARE(resnet_->thresholds()[std::size_t(tap)], 0.0f);
    }

    void loopSiteCountsEveryExecution()
    {
        if (!fixturesReady())
            return;
        auto m = Model::load(fixtures_.filePath(QStringLiteral("loop_scripted.pt")).toStdString());
        m->setInputShape({3, 16, 16});
        const auto r = capture(*m, {testmodels::syntheticBatch(4, 3, 16, 16, 1)});
        QCOMPARE(r.sites[0].elements, qint64(3 * 4 * 3 * 16 * 16)); // three iterations per forward

        auto dict = Model::load(fixtures_.filePath(QStringLiteral("dict_scripted.pt")).toStdString());
        dict->setInputShape({3, 16, 16});
        std::vector<std::int64_t> shape;
        forwardOutput(*dict, testmodels::syntheticBatch(2, 3, 16, 16, 2), true, &shape);
        QCOMPARE(shape, (std::vector<std::int64_t>{2, 5, 16, 16})); // "out" by default
        dict->setOutputSelection({OutputSelection::Rule::Key, 0, "aux"});
        forwardOutput(*dict, testmodels::syntheticBatch(2, 3, 16, 16, 2), true, &shape);
        QCOMPARE(shape, (std::vector<std::int64_t>{2, 6, 16, 16}));
        dict->setOutputSelection({OutputSelection::Rule::Key, 0, "nope"});
        QVERIFY_THROWS_EXCEPTION(Error, forwardOutput(*dict, testmodels::syntheticBatch(2, 3, 16, 16, 2), true));

        auto tuple = Model::load(fixtures_.filePath(QStringLiteral("tuple_scripted.pt")).toStdString());
        forwardOutput(*tuple, testmodels::syntheticBatch(2, 3, 16, 16, 3), true, &shape);
        QCOMPARE(shape, (std::vector<std::int64_t>{2, 5}));
        tuple->setOutputSelection({OutputSelection::Rule::Index, 1, {}});
        forwardOutput(*tuple, testmodels::syntheticBatch(2, 3, 16, 16, 3), true, &shape);
        QCOMPARE(shape, (std::vector<std::int64_t>{2, 6, 16, 16}));
    }

    // A ReLU on N x C x 1 x 1 (squeeze-excitation) next to full-size maps: per-channel counts per channel, and one
    // spatial position, on both kernels; the model's ReLUs run as fused probes.
    void statisticsOfOneByOneMaps_data() { kernelRows(); }
    void statisticsOfOneByOneMaps()
    {
        useKernelOfRow();
        if (!fixturesReady())
            return;
        auto m = fixtureModel("squeeze_excite_scripted.pt");
        QVERIFY(m->instrumentedGraphText().find("sparsity::probe_relu") != std::string::npos);
        Batch b = testmodels::syntheticBatch(6, 3, 16, 16, 4);
        b.indices = {0, 1, 2, 3, 4, 5};
        CaptureOptions options;
        options.keepFeatureMaps = b.indices;
        const auto r = capture(*m, {b}, options);
        int oneByOne = 0;
        for (std::size_t s = 0; s < m->sites().size(); ++s) {
            const Site &site = m->sites()[s];
            if (site.shape.size() != 3)
                continue;
            const auto channels = std::size_t(site.shape[0]);
            const auto plane = std::size_t(site.shape[1] * site.shape[2]);
            oneByOne += plane == 1 ? 1 : 0;
            std::vector<std::int64_t> perChannel(channels, 0), perPosition(plane, 0);
            std::int64_t zeros = 0;
            for (const auto &img : r.kept)
                for (std::size_t i = 0; i < img.siteMaps[s].size(); ++i) {
                    const bool nonzero = img.siteMaps[s][i] != 0.0f;
                    zeros += nonzero ? 0 : 1;
                    perChannel[i / plane] += nonzero ? 1 : 0;
                    perPosition[i % plane] += nonzero ? 1 : 0;
                }
            QCOMPARE(r.sites[s].zeros, zeros);
            QCOMPARE(r.sites[s].channelNonzero, perChannel);
            QCOMPARE(r.sites[s].spatialNonzero, perPosition);
        }
        QCOMPARE(oneByOne, 3); // the squeeze ReLU, the sigmoid (a dense site) and the squeeze conv's input tap
    }

    // The fused probe of an in-place ReLU writes over its input, as the model does; a functional ReLU's input may
    // be read again and must survive: relu(h) and relu(-h) of one h have complementary zeros only if the first
    // probe left h alone. The in-place site's output (the model's output) equals the pristine model's, bit-exact.
    void inPlaceReluOverwritesOnlyWhatTheModelDid_data() { kernelRows(); }
    void inPlaceReluOverwritesOnlyWhatTheModelDid()
    {
        useKernelOfRow();
        if (!fixturesReady())
            return;
        auto m = fixtureModel("relu_input_read_again_scripted.pt");
        QCOMPARE(fusedReluProbes(*m), std::size_t(3));
        Batch b = testmodels::syntheticBatch(4, 3, 16, 16, 9);
        CaptureOptions options;
        options.keepFeatureMaps = b.indices;
        const auto r = capture(*m, {b}, options);
        QCOMPARE(m->sites()[0].name + " " + m->sites()[1].name, std::string("relu relu#2"));
        const auto &positive = r.sites[0], &negative = r.sites[1];
        QCOMPARE(positive.elements, negative.elements);
        QVERIFY(negative.zeros < negative.elements / 2 + negative.elements / 4); // relu(-h) is not all zeros
        QCOMPARE(positive.zeros + negative.zeros, positive.elements); // a conv output is never exactly 0 here

        std::vector<std::int64_t> shape;
        const auto pristine = forwardOutput(*m, b, false, &shape);
        QCOMPARE(shape, (std::vector<std::int64_t>{4, 4, 16, 16}));
        std::vector<float> probed;
        for (const auto &img : r.kept)
            probed.insert(probed.end(), img.siteMaps[2].begin(), img.siteMaps[2].end());
        QCOMPARE(m->sites()[2].op, std::string("aten::relu")); // made functional, then fused
        QCOMPARE(probed.size(), pristine.size());
        QVERIFY(std::memcmp(probed.data(), pristine.data(), pristine.size() * sizeof(float)) == 0);
    }

    // The greedy threshold search ranks steps by the class scores' KL divergence: a model that gives a map instead
    // is refused with a message, and its thresholds (per-channel ones too) are left as they were.
    void greedySearchRefusesAModelWithoutClassScores()
    {
        if (!fixturesReady())
            return;
        auto m = fixtureModel("dict_scripted.pt"); // {"out": N x 5 x H x W}
        Batch b = testmodels::syntheticBatch(4, 3, 16, 16, 5);
        b.labels = {0, 1, 2, 3};
        capture(*m, {b}); // the sites' shapes
        const int site = [&] {
            for (const auto &s : m->sites())
                if (s.sparsifiable)
                    return s.index;
            return -1;
        }();
        QVERIFY(site >= 0);
        const std::vector<float> channels(std::size_t(m->sites()[std::size_t(site)].shape[0]), 0.01f);
        m->setChannelThresholds(site, channels);
        SearchOptions options;
        options.strategy = SearchOptions::Strategy::Greedy;
        try {
            searchThresholds(*m, {b}, options);
            QFAIL("searched a model without class scores");
        } catch (const Error &e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("class scores")), e.what());
        }
        QCOMPARE(m->channelThresholds()[std::size_t(site)], channels);
        QCOMPARE(m->thresholds(), std::vector<float>(m->sites().size(), 0.0f));
    }

    // Pixel accuracy and mIoU against a brute-force count over the pristine model's class scores.
    void segmentationScoresMasks()
    {
        if (!fixturesReady())
            return;
        const std::string root = dir_.filePath(QStringLiteral("seg")).toStdString();
        for (int i = 0; i < 5; ++i) {
            fixtures::writeImage(root + "/images/img" + std::to_string(i) + ".png", fixtures::patternImage(16, 16, i + 1));
            cv::Mat mask(16, 16, CV_8UC1);
            for (int y = 0; y < 16; ++y)
                for (int x = 0; x < 16; ++x)
                    mask.at<std::uint8_t>(y, x) = (x + y + i) % 7 == 0 ? kIgnoreClass : std::uint8_t((x / 4 + y / 5 + i) % 5);
            fixtures::writeImage(root + "/masks/img" + std::to_string(i) + ".png", mask);
        }
        const auto data = openDataset(root);
        QVERIFY(data->hasMasks());
        Preprocessing pre;
        pre.channels = 3;
        pre.height = pre.width = 16;
        pre.mean = {0.5f};
        pre.std = {0.5f};
        auto model = Model::load(fixtures_.filePath(QStringLiteral("dict_scripted.pt")).toStdString()); // {"out": N x 5 x H x W}
        model->setInputShape({3, 16, 16});
        CaptureOptions options;
        options.batchSize = 2;
        const auto r = capture(*model, *data, pre, firstN(*data, 5), options);
        QVERIFY(r.segmentation());
        QCOMPARE(r.segmentationClasses, 5);

        std::vector<std::int64_t> expected(25, 0);
        for (const auto &batch : loadBatches(*data, pre, firstN(*data, 5), 2)) {
            QCOMPARE(batch.masks.size(), std::size_t(batch.n) * 256);
            std::vector<std::int64_t> shape;
            const auto logits = forwardOutput(*model, batch, false, &shape);
            QCOMPARE(shape, (std::vector<std::int64_t>{batch.n, 5, 16, 16}));
            for (int i = 0; i < batch.n; ++i) {
                const RawImage mask = data->mask(batch.indices[std::size_t(i)]);
                for (int p = 0; p < 256; ++p) {
                    QCOMPARE(batch.masks[std::size_t(i * 256 + p)], mask.pixels[std::size_t(p)]);
                    if (mask.pixels[std::size_t(p)] == kIgnoreClass)
                        continue;
                    int best = 0;
                    for (int k = 1; k < 5; ++k)
                        if (logits[std::size_t((i * 5 + k) * 256 + p)] > logits[std::size_t((i * 5 + best) * 256 + p)])
                            best = k;
                    ++expected[std::size_t(mask.pixels[std::size_t(p)] * 5 + best)];
                }
            }
        }
        QCOMPARE(r.confusion, expected);
        std::int64_t correct = 0, scored = 0;
        double iouSum = 0;
        int present = 0;
        for (int k = 0; k < 5; ++k) {
            correct += expected[std::size_t(k * 6)];
            std::int64_t row = 0, column = 0;
            for (int j = 0; j < 5; ++j) {
                row += expected[std::size_t(k * 5 + j)];
                column += expected[std::size_t(j * 5 + k)];
            }
            scored += row;
            if (row + column > 0) {
                iouSum += double(expected[std::size_t(k * 6)]) / double(row + column - expected[std::size_t(k * 6)]);
                ++present;
            }
        }
        QVERIFY(scored < 5 * 256 && scored > 4 * 256); // the ignored pixels are not scored
        QCOMPARE(r.pixelsScored(), scored);
        QVERIFY(qFuzzyCompare(r.pixelAccuracy(), 100.0 * double(correct) / double(scored)));
        QVERIFY(qFuzzyCompare(r.meanIoU(), 100.0 * iouSum / present));
        // The reports carry the same figures (docs/report-schema.md).
        const QJsonObject seg = report::evaluationJson(*model, r).value(QStringLiteral("segmentation")).toObject();
        QCOMPARE(seg.value(QStringLiteral("classes")).toInt(), 5);
        QCOMPARE(seg.value(QStringLiteral("pixels")).toDouble(), double(scored));
        QVERIFY(qFuzzyCompare(seg.value(QStringLiteral("mean_iou")).toDouble(), r.meanIoU()));
        QCOMPARE(seg.value(QStringLiteral("class_iou")).toArray().size(), 5);
        QVERIFY(sparsity::text::evaluationText(*model, r, QStringLiteral("t")).contains(QStringLiteral("pixel acc. / mIoU")));

        // Class scores at half resolution are upsampled to the mask, as torchvision's heads do.
        auto lowRes = Model::load(fixtures_.filePath(QStringLiteral("seg_lowres_scripted.pt")).toStdString());
        lowRes->setInputShape({3, 16, 16});
        std::vector<std::int64_t> lowShape;
        forwardOutput(*lowRes, loadBatches(*data, pre, {0}, 1).front(), false, &lowShape);
        QCOMPARE(lowShape, (std::vector<std::int64_t>{1, 3, 8, 8}));
        const QString tooFew = testmodels::errorOf([&] { capture(*lowRes, *data, pre, firstN(*data, 5)); });
        QVERIFY2(tooFew.contains(QStringLiteral("the mask of dataset item 0 holds class 3")) && tooFew.contains(QStringLiteral("3 output classes")),
                 qPrintable(tooFew));

        // A classifier cannot be scored against masks: the message says what the output is.
        auto classifier = Model::load(fixtures_.filePath(QStringLiteral("tuple_scripted.pt")).toStdString());
        classifier->setInputShape({3, 16, 16});
        const QString notMaps = testmodels::errorOf([&] { capture(*classifier, *data, pre, firstN(*data, 2)); });
        QVERIFY2(notMaps.contains(QStringLiteral("not N x classes x H x W")), qPrintable(notMaps));

        // A mask whose size differs from its image is skipped with a message, never scored misaligned.
        fixtures::writeImage(root + "/masks/img4.png", cv::Mat(8, 8, CV_8UC1, cv::Scalar(1)));
        const auto changed = openDataset(root);
        const auto skipped = capture(*model, *changed, pre, firstN(*changed, 5), options);
        QCOMPARE(skipped.skipped, std::size_t(1));
        QVERIFY2(QString::fromStdString(skipped.skippedExamples.front()).contains(QStringLiteral("its mask is 8x8 pixels")),
                 skipped.skippedExamples.front().c_str());
        QCOMPARE(skipped.images, std::int64_t(4));
    }

    void cancelStopsWithinABatch()
    {
        std::atomic<bool> cancel{false};
        int calls = 0;
        CaptureOptions options;
        options.batchSize = 50;
        const auto r = capture(*resnet_, *test_, resnet_->defaultPreprocessing(), firstN(*test_, 2000), options, &cancel,
                               [&](const CaptureProgress &p) {
                                   ++calls;
                                   QVERIFY(p.imagesDone <= p.imagesTotal);
                                   if (calls == 3)
                                       cancel = true;
                               });
        QVERIFY(r.cancelled);
        QCOMPARE(r.images, qint64(150));
    }

    void exportedModelLoadsAndMatches()
    {
        const auto batches = loadBatches(*test_, resnet_->defaultPreprocessing(), firstN(*test_, 32), 32);
        std::vector<float> thresholds(resnet_->sites().size(), 0.0f);
        thresholds[1] = 0.3f;
        thresholds[4] = 0.5f;
        resnet_->setThresholds(thresholds);
        resnet_->setChannelThresholds(5, std::vector<float>(64, 0.25f));
        const auto expected = forwardOutput(*resnet_, batches[0], true);
        const QString out = dir_.filePath(QStringLiteral("tuned.pt"));
        resnet_->exportThresholded(out.toStdString(), "{\"schema\": \"sparsity-explorer/model-metadata\", \"version\": 1}");
        resnet_->setThresholds(std::vector<float>(resnet_->sites().size(), 0.0f));
        resnet_->setChannelThresholds(5, {});

        auto reloaded = Model::load(out.toStdString());
        reloaded->setInputShape({1, 28, 28});
        const auto got = forwardOutput(*reloaded, batches[0], false);
        QCOMPARE(got.size(), expected.size());
        QVERIFY(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)) == 0);
        // The exported graph uses standard ops only; re-opened, each activation + threshold pair is one site
        // that reports its baked-in threshold.
        auto activations = [](const Model &m) {
            return std::count_if(m.sites().begin(), m.sites().end(), [](const Site &s) { return s.op.rfind("input of", 0) != 0; });
        };
        QCOMPARE(activations(*reloaded), activations(*resnet_));
        // Names survive the export (its graph is inlined, so they travel in the metadata).
        for (std::size_t i = 0; i < std::size_t(activations(*resnet_)); ++i)
            QCOMPARE(reloaded->sites()[i].name, resnet_->sites()[i].name);
        QCOMPARE(reloaded->layers()[1].geometry.name, resnet_->layers()[1].geometry.name);
        QCOMPARE(reloaded->sites()[1].consumers[0].name, resnet_->sites()[1].consumers[0].name);
        QCOMPARE(reloaded->sites()[1].bakedThreshold, double(0.3f));
        QCOMPARE(reloaded->sites()[4].bakedThreshold, double(0.5f));
        QCOMPARE(reloaded->sites()[2].bakedThreshold, 0.0);

        if (testmodels::pythonTorchAvailable()) {
            // Plain PyTorch loads it too, with no library of ours.
            QProcess py;
            py.start(QStringLiteral("/usr/bin/python3"),
                     {QStringLiteral("-c"), QStringLiteral("import torch,sys; m=torch.jit.load(sys.argv[1]); "
                                                           "print(m(torch.zeros(2,1,28,28)).shape)"),
                      out});
            QVERIFY(py.waitForFinished(120000));
            QVERIFY2(py.exitCode() == 0, py.readAllStandardError().constData());
            QVERIFY(py.readAllStandardOutput().contains("[2, 10]"));
        }
    }

    void exportRefusesToOverwriteTheInput()
    {
        try {
            resnet_->exportThresholded(resnet_->path(), "{}");
            QFAIL("export overwrote the input model");
        } catch (const Error &e) {
            QVERIFY(QString::fromUtf8(e.what()).contains(QStringLiteral("refusing to overwrite")));
        }
    }

    void dataShapeMismatchIsExplained()
    {
        Preprocessing p = resnet_->defaultPreprocessing();
        p.height = p.width = 32;
        try {
            capture(*resnet_, *test_, p, firstN(*test_, 8));
            QFAIL("a 32x32 input was accepted by a model set up for 28x28");
        } catch (const Error &e) {
            const QString message = QString::fromUtf8(e.what());
            QVERIFY2(message.contains(QStringLiteral("1x28x28")) && message.contains(QStringLiteral("1x32x32")), qPrintable(message));
        }
    }
};

QTEST_GUILESS_MAIN(TestCapture)
#include "tst_capture.moc"
