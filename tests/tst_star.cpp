// STAR in the engine: threshold search under a budget, the partial penalty's gradient, recipes, training
// with checkpoints and an exact resume, export of a fine-tuned model.
#include "capture/capture.h"
#include "data/dataset.h"
#include "error.h"
#include "graph/model.h"
#include "tune/recipe.h"
#include "io/report.h"
#include "texttables.h"
#include "testmodels.h"
#include "tune/thresholdsearch.h"
#include "tune/training.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <map>
#include <numeric>
#include <cstring>

using namespace sparsity;

class TestStar : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::unique_ptr<Dataset> train_, test_;

    std::shared_ptr<Model> resnet() const { return Model::load(testmodels::sampleModel("sample-resnet").toStdString()); }

    // A small, fast recipe: 1 + 1 epochs over 256 training images.
    static Recipe smallRecipe(Recipe::ThresholdMode mode)
    {
        Recipe r = Recipe::forMethod(Recipe::Method::Star);
        r.regularizeEpochs = 1;
        r.finetuneEpochs = 1;
        r.trainImages = 256;
        r.calibrationImages = 128;
        r.validationImages = 64;
        r.batchSize = 32;
        r.thresholdMode = mode;
        r.targetSparsity = 0.7;
        r.seed = 5;
        return r;
    }

    // No regularize phase: every sparsifiable site at threshold 0.2, then 2 fine-tune epochs.
    static Recipe fineTuneAtGlobalThreshold()
    {
        Recipe r = smallRecipe(Recipe::ThresholdMode::Global);
        r.globalThreshold = 0.2;
        r.regularizeEpochs = 0;
        r.finetuneEpochs = 2;
        return r;
    }

    // A fresh training run into `checkpoints` that cancels itself at step `step` of epoch `epoch`.
    static TrainingResult cancelledRun(Model &model, const Recipe &recipe, const TrainingData &data, const QString &checkpoints,
                                       int epoch, int step)
    {
        std::atomic<bool> cancel{false};
        TrainingCallbacks callbacks;
        callbacks.step = [&](const TrainingStep &s) {
            if (s.epoch == epoch && s.step == step)
                cancel = true;
        };
        return train(model, recipe, data, checkpoints.toStdString(), false, &cancel, callbacks);
    }

    // The outputs, on `batch`, of `model` exported as plain TorchScript to NAME in the test folder and loaded again.
    std::vector<float> exportedOutput(const Model &model, const Recipe &recipe, const QString &name, const Batch &batch) const
    {
        const QString out = dir_.filePath(name);
        model.exportThresholded(out.toStdString(), recipe.toJson());
        auto exported = Model::load(out.toStdString());
        exported->setInputShape({1, 28, 28});
        return forwardOutput(*exported, batch, false);
    }

    // STAR with the penalty on two sites of different sizes (28x28x16 and 14x14x32), lambda 3.
    static Recipe twoSiteStarRecipe()
    {
        Recipe r = Recipe::forMethod(Recipe::Method::Star);
        r.scopeMode = Recipe::ScopeMode::Sites;
        r.scopeSites = {"layer1.relu", "layer2.relu#2"};
        r.lambda = 3.0;
        return r;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        train_ = openDataset(testmodels::sampleData().toStdString(), Split::Train);
        test_ = openDataset(testmodels::sampleData().toStdString(), Split::Test);
    }

    void searchRespectsItsBudget_data()
    {
        QTest::addColumn<double>("budget");
        QTest::addColumn<bool>("greedy");
        QTest::newRow("bisection 0.5 pp") << 0.5 << false;
        QTest::newRow("bisection 2 pp") << 2.0 << false;
        QTest::newRow("greedy 1 pp") << 1.0 << true;
    }
    void searchRespectsItsBudget()
    {
        QFETCH(double, budget);
        QFETCH(bool, greedy);
        auto m = resnet();
        const auto calibration = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 400), 100);
        SearchOptions options;
        options.budgetPp = budget;
        options.stepsPerSite = 6;
        if (greedy) {
            options.strategy = SearchOptions::Strategy::Greedy;
            options.greedyStep = 0.05;
        }
        int calls = 0;
        const auto r = searchThresholds(*m, calibration, options, nullptr, [&](const SearchProgress &) { ++calls; });
        QVERIFY(!r.cancelled);
        QVERIFY(calls > 10);
        QVERIFY2(r.finalTop1 >= r.startTop1 - budget, qPrintable(QStringLiteral("%1 -> %2").arg(r.startTop1).arg(r.finalTop1)));
        QVERIFY2(r.finalSparsity > r.startSparsity + 0.05, qPrintable(QStringLiteral("%1 -> %2").arg(r.startSparsity).arg(r.finalSparsity)));
        // The model keeps the result, and re-evaluating reproduces the accuracy the search reported.
        QCOMPARE(m->thresholds(), r.thresholds);
        CaptureOptions quick;
        quick.collectStats = false;
        QCOMPARE(capture(*m, calibration, quick).top1(), r.finalTop1);
        for (const auto &s : m->sites())
            if (!s.sparsifiable)
                QCOMPARE(r.thresholds[std::size_t(s.index)], 0.0f);
    }

    // The greedy search refuses per-channel thresholds and data without labels, with a message, before it changes
    // anything.
    void greedySearchRefuses()
    {
        auto m = resnet();
        const auto calibration = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 200), 100);
        const std::vector<float> stem(std::size_t(m->sites()[0].shape[0]), 0.05f);
        m->setChannelThresholds(0, stem);
        SearchOptions options;
        options.strategy = SearchOptions::Strategy::Greedy;
        options.perChannel = true;
        QVERIFY_THROWS_EXCEPTION(Error, searchThresholds(*m, calibration, options));
        options.perChannel = false;
        auto unlabelled = calibration;
        unlabelled[0].labels.assign(unlabelled[0].labels.size(), -1);
        try {
            searchThresholds(*m, unlabelled, options);
            QFAIL("searched unlabelled data");
        } catch (const Error &e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("labelled")), e.what());
        }
        QCOMPARE(m->channelThresholds()[0], stem); // refused before anything changed
    }

    // A large model's calibration batches are measured in slices (every site's feature maps of a slice are held at
    // once): the mean reference and the maxima do not depend on the slicing.
    void channelReferencesOfSlicedBatches()
    {
        auto m = resnet();
        const auto calibration = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 200), 100);
        capture(*m, {calibration.front()}); // the sites' sizes
        std::int64_t bytesPerImage = 0;
        for (const auto &site : m->sites())
            bytesPerImage += site.elementsPerImage * 4;
        const auto whole = channelReferenceScales(*m, calibration, ChannelReference::MeanPositive);
        const auto sliced = channelReferenceScales(*m, calibration, ChannelReference::MeanPositive, nullptr, 7 * bytesPerImage);
        QCOMPARE(sliced.max, whole.max);
        int sites = 0;
        for (std::size_t s = 0; s < whole.reference.size(); ++s) {
            QCOMPARE(sliced.reference[s].size(), whole.reference[s].size());
            sites += whole.reference[s].empty() ? 0 : 1;
            for (std::size_t c = 0; c < whole.reference[s].size(); ++c)
                QVERIFY(std::abs(sliced.reference[s][c] - whole.reference[s][c]) <= 1e-5f * (1.0f + whole.reference[s][c]));
        }
        QCOMPARE(sites, int(m->sites().size()));
    }

    // Per channel: one searched scale per site, t_c = s * r_c with r_c each channel's mean positive activation,
    // still within the budget on the calibration set.
    void perChannelSearchRespectsItsBudget_data()
    {
        QTest::addColumn<double>("budget");
        QTest::newRow("1 pp") << 1.0;
    }
    void perChannelSearchRespectsItsBudget()
    {
        QFETCH(double, budget);
        auto m = resnet();
        const auto calibration = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 400), 100);
        // r_c of the stem, computed here in plain loops from the kept feature maps of every calibration image.
        const int stem = [&] {
            for (const auto &s : m->sites())
                if (s.sparsifiable && s.depth == 1)
                    return s.index;
            return -1;
        }();
        QVERIFY(stem >= 0);
        const auto channels = std::size_t(m->sites()[std::size_t(stem)].shape[0]);
        std::vector<double> sum(channels, 0.0), count(channels, 0.0);
        {
            CaptureOptions keep;
            keep.keepFeatureMaps = firstN(*test_, 400);
            const auto kept = capture(*m, calibration, keep);
            QCOMPARE(kept.kept.size(), std::size_t(400));
            for (const auto &image : kept.kept) {
                const auto &map = image.siteMaps[std::size_t(stem)];
                const std::size_t plane = map.size() / channels;
                for (std::size_t i = 0; i < map.size(); ++i)
                    if (map[i] > 0.0f) {
                        sum[i / plane] += map[i];
                        count[i / plane] += 1.0;
                    }
            }
        }
        SearchOptions options;
        options.budgetPp = budget;
        options.stepsPerSite = 6;
        options.perChannel = true;
        const auto r = searchThresholds(*m, calibration, options);
        QVERIFY(!r.cancelled);
        QVERIFY2(r.finalTop1 >= r.startTop1 - budget, qPrintable(QStringLiteral("%1 -> %2").arg(r.startTop1).arg(r.finalTop1)));
        QVERIFY2(r.finalSparsity > r.startSparsity + 0.05, qPrintable(QStringLiteral("%1 -> %2").arg(r.startSparsity).arg(r.finalSparsity)));
        CaptureOptions quick;
        quick.collectStats = false;
        QCOMPARE(capture(*m, calibration, quick).top1(), r.finalTop1);

        // The model applies one threshold per channel, proportional to r_c, at every searched site.
        const auto applied = m->channelThresholds();
        QCOMPARE(applied, r.channelThresholds);
        int perChannelSites = 0;
        for (const auto &s : m->sites()) {
            const auto i = std::size_t(s.index);
            if (!s.sparsifiable) {
                QVERIFY(applied[i].empty());
                continue;
            }
            QCOMPARE(applied[i].size(), std::size_t(s.shape[0]));
            QCOMPARE(r.channelReferences[i].size(), applied[i].size());
            ++perChannelSites;
            double mean = 0.0;
            for (std::size_t c = 0; c < applied[i].size(); ++c) {
                QVERIFY(std::abs(applied[i][c] - r.scales[i] * r.channelReferences[i][c]) <= 1e-6f * (1.0f + applied[i][c]));
                mean += applied[i][c];
            }
            QVERIFY(std::abs(float(mean / double(applied[i].size())) - r.thresholds[i]) <= 1e-5f);
        }
        QCOMPARE(perChannelSites, 7);
        QVERIFY(r.scales[std::size_t(stem)] > 0.0f);
        const auto &stemT = applied[std::size_t(stem)];
        QVERIFY(*std::max_element(stemT.begin(), stemT.end()) > 1.5f * *std::min_element(stemT.begin(), stemT.end()));
        for (std::size_t c = 0; c < channels; ++c) {
            const double reference = count[c] > 0 ? sum[c] / count[c] : 0.0;
            QVERIFY2(std::abs(r.channelReferences[std::size_t(stem)][c] - reference) <= 1e-4 * (1.0 + reference),
                     qPrintable(QStringLiteral("channel %1: %2 vs %3").arg(c).arg(r.channelReferences[std::size_t(stem)][c]).arg(reference)));
        }
    }

    // A training run with per-channel thresholds: they go into the checkpoint, a resumed run in a new session
    // applies the same ones, and the export reproduces the engine's outputs.
    void perChannelThresholdsSurviveResumeAndExport()
    {
        Recipe recipe = smallRecipe(Recipe::ThresholdMode::Search);
        recipe.regularizeEpochs = 0;
        recipe.finetuneEpochs = 2;
        recipe.budgetPp = 2.0;
        recipe.perChannelThresholds = true;
        const auto probe = loadBatches(*test_, resnet()->defaultPreprocessing(), firstN(*test_, 16), 16);

        auto straight = resnet();
        TrainingData data{train_.get(), test_.get(), straight->defaultPreprocessing()};
        const auto a = train(*straight, recipe, data, dir_.filePath(QStringLiteral("pc-straight")).toStdString());
        QCOMPARE(a.epochsDone, 2);
        QVERIFY(!a.search.channelThresholds.empty());
        QCOMPARE(a.channelThresholds, a.search.channelThresholds);
        QCOMPARE(straight->channelThresholds(), a.channelThresholds);
        const auto expected = forwardOutput(*straight, probe[0], true);

        auto interrupted = resnet();
        const QString ckpt = dir_.filePath(QStringLiteral("pc-resumed"));
        QVERIFY(cancelledRun(*interrupted, recipe, data, ckpt, 1, 3).cancelled);
        auto resumed = resnet();
        const auto c = train(*resumed, recipe, data, ckpt.toStdString(), true);
        QCOMPARE(c.epochsDone, 2);
        QCOMPARE(c.channelThresholds, a.channelThresholds);
        const auto got = forwardOutput(*resumed, probe[0], true);
        QCOMPARE(got.size(), expected.size());
        for (std::size_t i = 0; i < got.size(); ++i)
            QVERIFY2(std::abs(got[i] - expected[i]) <= 1e-5f * (1.0f + std::abs(expected[i])),
                     qPrintable(QStringLiteral("%1: %2 vs %3").arg(i).arg(got[i]).arg(expected[i])));

        const auto plain = exportedOutput(*resumed, recipe, QStringLiteral("pc-tuned.pt"), probe[0]);
        QVERIFY(std::memcmp(plain.data(), got.data(), got.size() * sizeof(float)) == 0);
    }

    void searchCancelRestoresThresholds_data()
    {
        QTest::addColumn<bool>("greedy");
        QTest::newRow("bisection") << false;
        QTest::newRow("greedy") << true;
    }
    void searchCancelRestoresThresholds()
    {
        QFETCH(bool, greedy);
        auto m = resnet();
        const auto calibration = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 200), 100);
        const std::vector<float> stem(std::size_t(m->sites()[0].shape[0]), 0.05f);
        m->setChannelThresholds(0, stem);
        std::atomic<bool> cancel{false};
        SearchOptions options;
        options.strategy = greedy ? SearchOptions::Strategy::Greedy : SearchOptions::Strategy::Bisection;
        std::string phase;
        const auto r = searchThresholds(*m, calibration, options, &cancel, [&](const SearchProgress &p) {
            phase = p.phase;
            if (p.evaluation >= (greedy ? 12 : 5)) // the greedy search is stopped inside a step
                cancel = true;
        });
        QVERIFY(r.cancelled);
        QCOMPARE(phase == "greedy", greedy);
        QCOMPARE(m->thresholds(), std::vector<float>(m->sites().size(), 0.0f));
        QCOMPARE(m->channelThresholds()[0], stem);
    }

    // Per-channel thresholds override a site's scalar in the probes: a scalar search must not leave them in
    // place on the sites it searched (its result would not be what the model runs).
    void scalarSearchReplacesChannelThresholds()
    {
        auto m = resnet();
        const auto calibration = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 200), 100);
        m->setChannelThresholds(0, std::vector<float>(std::size_t(m->sites()[0].shape[0]), 0.05f));
        SearchOptions options;
        options.sites = {1};
        options.stepsPerSite = 8;
        options.budgetPp = 2.0;
        const auto r = searchThresholds(*m, calibration, options);
        QVERIFY(!r.cancelled);
        QVERIFY(m->channelThresholds()[1].empty());
        QVERIFY(r.thresholds[1] > 0.0f);
        QVERIFY(!m->channelThresholds()[0].empty()); // not searched: left alone
        // The search's table says so (a scalar search has no per-channel scale to show for it).
        const QString text = sparsity::text::searchText(*m, r, std::vector<float>(m->sites().size(), 0.0f));
        QVERIFY2(text.contains(QStringLiteral("16 per-channel thresholds apply")), qPrintable(text));
        options.sites = {0};
        const auto second = searchThresholds(*m, calibration, options);
        QVERIFY(m->channelThresholds()[0].empty());
        QCOMPARE(m->thresholds()[0], second.thresholds[0]);
    }

    void quantileStartingPoint()
    {
        auto m = resnet();
        const auto stats = capture(*m, *test_, m->defaultPreprocessing(), firstN(*test_, 200));
        const auto t = quantileThresholds(*m, stats, 0.8);
        m->setThresholds(t);
        const auto after = capture(*m, *test_, m->defaultPreprocessing(), firstN(*test_, 200));
        // The first site sees unchanged inputs, so its sparsity lands on the target (within a bin's width).
        const int first = [&] {
            for (const auto &s : m->sites())
                if (s.sparsifiable && s.depth == 1)
                    return s.index;
            return 0;
        }();
        QVERIFY2(std::abs(after.sites[std::size_t(first)].sparsity() - 0.8) < 0.02,
                 qPrintable(QString::number(after.sites[std::size_t(first)].sparsity())));
        QCOMPARE(globalThresholds(*m, 0.25f)[std::size_t(first)], 0.25f);
    }

    void penaltyGradientOnlyInsideTheBandOfScopedSites()
    {
        auto m = resnet();
        Recipe r = twoSiteStarRecipe();
        std::vector<float> bands(m->sites().size(), 0.0f);
        for (const auto &s : m->sites())
            bands[std::size_t(s.index)] = 0.4f;
        const auto batches = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 4), 4);
        const auto inspection = inspectPenalty(*m, r, bands, batches[0]);
        QVERIFY(inspection.penalty > 0.0);
        const auto scope = scopeMask(r, *m);
        int scoped = 0;
        for (const auto &s : m->sites()) {
            const auto &y = inspection.outputs[std::size_t(s.index)];
            const auto &g = inspection.gradients[std::size_t(s.index)];
            QCOMPARE(y.size(), g.size());
            std::size_t inBand = 0, nonzeroGrad = 0;
            for (std::size_t i = 0; i < y.size(); ++i) {
                const bool band = y[i] > 0.0f && y[i] <= 0.4f;
                inBand += band;
                nonzeroGrad += g[i] != 0.0f;
                if (!scope[std::size_t(s.index)] || !band)
                    QVERIFY2(g[i] == 0.0f, qPrintable(QStringLiteral("%1[%2] = %3, grad %4").arg(QString::fromStdString(s.name)).arg(i).arg(y[i]).arg(g[i])));
                else
                    QVERIFY(g[i] > 0.0f); // L1 pushes the value down toward zero
            }
            if (scope[std::size_t(s.index)]) {
                ++scoped;
                QVERIFY(inBand > 0);
                QCOMPARE(nonzeroGrad, inBand);
            }
        }
        QCOMPARE(scoped, 2);
    }

    // Per-site weighting makes each scoped site's term its own mean, so a 28x28 map's activations weigh half as
    // much as a 14x14 map's with twice the channels; per-activation weighting gives every penalised activation the
    // same gradient, lambda * n / (N * sum of the scoped sites' elements per image), whatever its site.
    void penaltyWeightingPerSiteAndPerActivation()
    {
        auto m = resnet();
        Recipe r = twoSiteStarRecipe();
        std::vector<float> bands(m->sites().size(), 0.4f);
        const auto batches = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 4), 4);
        const auto site = [&](const std::string &name) {
            for (const auto &s : m->sites())
                if (s.name == name)
                    return std::size_t(s.index);
            qFatal("no site %s", name.c_str());
        };
        // The gradient of the in-band activations of a site (they are all equal under L1; NaN if they are not).
        const auto bandGradient = [&](const PenaltyInspection &inspection, std::size_t s) {
            double lo = INFINITY, hi = -INFINITY;
            for (std::size_t i = 0; i < inspection.outputs[s].size(); ++i)
                if (inspection.outputs[s][i] > 0.0f && inspection.outputs[s][i] <= 0.4f) {
                    lo = std::min(lo, double(inspection.gradients[s][i]));
                    hi = std::max(hi, double(inspection.gradients[s][i]));
                }
            return lo == hi ? lo : NAN;
        };
        const auto perSite = inspectPenalty(*m, r, bands, batches[0]);
        const double n = 4.0;
        const double e1 = double(m->sites()[site("layer1.relu")].elementsPerImage);
        const double e2 = double(m->sites()[site("layer2.relu#2")].elementsPerImage);
        QCOMPARE(e1, 2.0 * e2);
        QVERIFY(std::abs(bandGradient(perSite, site("layer1.relu")) - 3.0 / (n * e1)) < 1e-9);
        QVERIFY(std::abs(bandGradient(perSite, site("layer2.relu#2")) - 3.0 / (n * e2)) < 1e-9);

        r.penaltyWeighting = Recipe::PenaltyWeighting::PerActivation;
        const auto weights = penaltyWeights(r, *m);
        QCOMPARE(weights[site("layer1.relu")] + weights[site("layer2.relu#2")], 2.0f); // they average 1
        QCOMPARE(weights[site("relu")], 0.0f);                                          // out of scope
        const auto perActivation = inspectPenalty(*m, r, bands, batches[0]);
        const double expected = 3.0 * 2.0 / (n * (e1 + e2));
        QVERIFY(std::abs(bandGradient(perActivation, site("layer1.relu")) - expected) < 1e-9);
        QVERIFY(std::abs(bandGradient(perActivation, site("layer2.relu#2")) - expected) < 1e-9);
    }

    // band.per_channel: each channel's band is the quantile of its own positive values (checked against the kept
    // feature maps, within one histogram bin), and the penalty's gradient follows each channel's band.
    void perChannelBands()
    {
        auto m = resnet();
        const auto batches = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 64), 32);
        const auto bands = channelQuantiles(*m, batches, 0.5);
        const int stem = 0;
        const auto channels = std::size_t(m->sites()[stem].shape[0]);
        QCOMPARE(bands[stem].size(), channels);
        CaptureOptions keep;
        keep.keepFeatureMaps = firstN(*test_, 64);
        const auto kept = capture(*m, batches, keep);
        std::vector<std::vector<float>> values(channels);
        for (const auto &image : kept.kept) {
            const auto &map = image.siteMaps[stem];
            for (std::size_t i = 0; i < map.size(); ++i)
                if (map[i] > 0.0f)
                    values[i / (map.size() / channels)].push_back(map[i]);
        }
        int distinct = 0;
        for (std::size_t c = 0; c < channels; ++c) {
            auto v = values[c];
            QVERIFY(!v.empty());
            std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
            const float median = v[v.size() / 2];
            QVERIFY2(std::abs(bands[stem][c] - median) <= 0.1f * median,
                     qPrintable(QStringLiteral("channel %1: %2 vs median %3").arg(c).arg(bands[stem][c]).arg(median)));
            distinct += std::abs(bands[stem][c] - bands[stem][0]) > 0.1f * bands[stem][0] ? 1 : 0;
        }
        QVERIFY(distinct > 0); // the channels' bands differ: one value per site would not do

        Recipe r = Recipe::forMethod(Recipe::Method::Star);
        r.scopeMode = Recipe::ScopeMode::Sites;
        r.scopeSites = {m->sites()[stem].name};
        std::vector<float> siteBands(m->sites().size(), 0.4f);
        std::vector<std::vector<float>> channelBands(m->sites().size());
        channelBands[stem] = bands[stem];
        const auto inspection = inspectPenalty(*m, r, siteBands, batches[0], channelBands);
        const auto &y = inspection.outputs[stem];
        const auto &g = inspection.gradients[stem];
        const std::size_t plane = y.size() / channels;
        std::size_t inBand = 0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            const bool band = y[i] > 0.0f && y[i] <= bands[stem][i / plane];
            inBand += band;
            QVERIFY2((g[i] != 0.0f) == band, qPrintable(QStringLiteral("%1 = %2, band %3, grad %4").arg(i).arg(y[i]).arg(bands[stem][i / plane]).arg(g[i])));
        }
        QVERIFY(inBand > 0);
    }

    // finetune.band_factor: the fine-tune's band is (t, c t] just above each site's threshold, per channel where the
    // site has per-channel thresholds; a scoped site without a threshold leaves the scope. The penalty's gradient is
    // nonzero exactly on the activations the threshold keeps up to c t, and the tied bands reach the fine-tune.
    void fineTuneBandTiedToThresholds()
    {
        auto m = resnet();
        Recipe r = twoSiteStarRecipe();
        const auto site = [&](const std::string &name) {
            for (const auto &s : m->sites())
                if (s.name == name)
                    return std::size_t(s.index);
            qFatal("no site %s", name.c_str());
        };
        const std::size_t scalar = site("layer1.relu"), perChannel = site("layer2.relu#2");
        m->setThreshold(int(scalar), 0.3f);
        std::vector<float> channels(std::size_t(m->sites()[perChannel].shape[0]));
        for (std::size_t c = 0; c < channels.size(); ++c)
            channels[c] = c % 4 == 0 ? 0.0f : 0.1f + 0.02f * float(c);
        m->setChannelThresholds(int(perChannel), channels);

        auto scope = scopeMask(r, *m);
        scope[0] = true; // a scoped site without a threshold
        const auto tied = sparsity::thresholdTiedBands(2.5, scope, m->thresholds(), m->channelThresholds());
        QVERIFY(!tied.scope[0]);
        QVERIFY(tied.scope[scalar] && tied.scope[perChannel]);
        QCOMPARE(tied.bands[scalar], 0.75f);
        QVERIFY(tied.channelBands[scalar].empty());
        QCOMPARE(tied.channelBands[perChannel].size(), channels.size());
        for (std::size_t c = 0; c < channels.size(); ++c)
            QCOMPARE(tied.channelBands[perChannel][c], 2.5f * channels[c]);

        const auto batches = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 4), 4);
        const auto inspection = inspectPenalty(*m, r, tied.bands, batches[0], tied.channelBands);
        const auto bandOf = [&](std::size_t s, std::size_t i) {
            if (s == scalar)
                return std::pair{0.3f, 0.75f};
            const std::size_t c = i / (inspection.outputs[s].size() / channels.size());
            return std::pair{channels[c], 2.5f * channels[c]};
        };
        for (const std::size_t s : {scalar, perChannel}) {
            const auto &y = inspection.outputs[s];
            const auto &g = inspection.gradients[s];
            std::size_t inBand = 0, keptAbove = 0;
            for (std::size_t i = 0; i < y.size(); ++i) {
                const auto [t, upper] = bandOf(s, i);
                QVERIFY(y[i] == 0.0f || y[i] > t); // thresholded: (0, c t] of y is (t, c t] of the activation
                const bool band = y[i] > 0.0f && y[i] <= upper;
                inBand += band;
                keptAbove += y[i] > upper;
                QVERIFY2((g[i] > 0.0f) == band && (band || g[i] == 0.0f),
                         qPrintable(QStringLiteral("site %1 [%2] = %3, band (%4, %5], grad %6").arg(s).arg(i).arg(y[i]).arg(t).arg(upper).arg(g[i])));
            }
            QVERIFY(inBand > 0);
            QVERIFY(keptAbove > 0);
        }

        // In training: regularize 0 epochs, the model's thresholds kept, fine-tune with the penalty on.
        Recipe recipe = smallRecipe(Recipe::ThresholdMode::Keep);
        recipe.scopeMode = Recipe::ScopeMode::Sites;
        recipe.scopeSites = {m->sites()[0].name, "layer1.relu", "layer2.relu#2"};
        recipe.regularizeEpochs = 0;
        recipe.penalizeWhileFinetuning = true;
        recipe.finetuneLambda = 1.0;
        recipe.finetuneBandFactor = 2.5;
        TrainingData data{train_.get(), test_.get(), m->defaultPreprocessing()};
        std::vector<std::string> messages;
        double penalty = 0.0;
        TrainingCallbacks callbacks;
        callbacks.message = [&](const std::string &text) { messages.push_back(text); };
        callbacks.step = [&](const TrainingStep &s) { penalty += s.penalty; };
        const auto result = train(*m, recipe, data, dir_.filePath(QStringLiteral("tied")).toStdString(), false, nullptr, callbacks);
        QVERIFY(!result.cancelled);
        QVERIFY(penalty > 0.0);
        QVERIFY(std::any_of(messages.begin(), messages.end(), [](const std::string &text) {
            return text.find("tied to the thresholds") != std::string::npos && text.find("on 2 sites") != std::string::npos;
        }));
    }

    // Constant responses: a channel's most frequent positive value and its share of the channel's positions match a
    // brute-force count over the kept maps; training with thresholds.constant_share puts a channel threshold at each
    // such value, and after it no position of the channel holds it any more.
    void constantResponsesAreCut()
    {
        auto m = resnet();
        std::vector<std::size_t> calibration(128); // the images training calibrates on: the split's last ones
        std::iota(calibration.begin(), calibration.end(), train_->size() - calibration.size());
        const auto batches = loadBatches(*train_, m->defaultPreprocessing(), calibration, 64);
        const int stem = 0;
        const auto responses = constantResponses(*m, batches, stem);
        const auto channels = std::size_t(m->sites()[stem].shape[0]);
        QCOMPARE(responses.size(), channels);
        CaptureOptions keep;
        keep.keepFeatureMaps = calibration;
        const auto kept = capture(*m, batches, keep);
        QCOMPARE(kept.kept.size(), std::size_t(128));
        const std::size_t plane = kept.kept.front().siteMaps[stem].size() / channels;
        int constant = 0;
        for (std::size_t c = 0; c < channels; ++c) {
            std::map<float, std::int64_t> counts;
            for (const auto &image : kept.kept)
                for (std::size_t i = c * plane; i < (c + 1) * plane; ++i)
                    if (image.siteMaps[stem][i] > 0.0f)
                        ++counts[image.siteMaps[stem][i]];
            std::pair<float, std::int64_t> best{0.0f, 0};
            for (const auto &vc : counts)
                if (vc.second > best.second)
                    best = vc;
            const double share = double(best.second) / double(plane * kept.kept.size());
            if (share < 0.1)
                continue; // a per-slice mode may differ from the overall one only for channels without a dominant value
            ++constant;
            QCOMPARE(responses[c].value, best.first);
            QVERIFY2(std::abs(responses[c].share - share) < 1e-12, qPrintable(QStringLiteral("%1 vs %2").arg(responses[c].share).arg(share)));
        }
        QVERIFY(constant > 0); // Fashion-MNIST's empty background: some stem channels answer it with a constant

        Recipe r = smallRecipe(Recipe::ThresholdMode::Keep);
        r.regularizeEpochs = 0;
        r.finetuneEpochs = 0;
        r.calibrationImages = 128;
        r.constantShare = 0.1;
        TrainingData data{train_.get(), test_.get(), m->defaultPreprocessing()};
        const auto result = train(*m, r, data, dir_.filePath(QStringLiteral("constants")).toStdString());
        QVERIFY(!result.cancelled);
        const auto cut = m->channelThresholds()[stem];
        QCOMPARE(cut.size(), channels);
        int cutChannels = 0;
        for (std::size_t c = 0; c < channels; ++c) {
            if (responses[c].share >= 0.1) {
                QCOMPARE(cut[c], responses[c].value);
                ++cutChannels;
            } else {
                QCOMPARE(cut[c], 0.0f); // the site's own threshold
            }
        }
        QCOMPARE(cutChannels, constant);
        const auto after = constantResponses(*m, batches, stem);
        for (std::size_t c = 0; c < channels; ++c)
            if (responses[c].share >= 0.1)
                QVERIFY(after[c].value != responses[c].value || after[c].share == 0.0);

        // constants_first: the cut is in place before the first epoch (a run cancelled in its first steps has it;
        // without the option the cut waits for the threshold phase).
        Recipe first = smallRecipe(Recipe::ThresholdMode::Keep);
        first.constantShare = 0.1;
        first.calibrationImages = 128;
        for (bool early : {true, false}) {
            first.constantsFirst = early;
            auto fresh = resnet();
            const auto cancelled = cancelledRun(*fresh, first, data, dir_.filePath(early ? QStringLiteral("first") : QStringLiteral("later")), 0, 1);
            QVERIFY(cancelled.cancelled);
            QCOMPARE(fresh->channelThresholds()[stem] == cut, early);
        }
    }

    void recipeRoundTripAndErrors()
    {
        Recipe r = Recipe::forMethod(Recipe::Method::L1Only);
        r.lambda = 0.25;
        r.scopeMode = Recipe::ScopeMode::Depth;
        r.maxDepth = 3;
        r.finetuneOptimizer.kind = OptimizerSettings::Kind::Sgd;
        r.distillationWeight = 0.75;
        r.distillationTemperature = 3.0;
        r.freezeBatchNorm = true;
        r.perChannelThresholds = true;
        r.channelReference = ChannelReference::MedianPositive;
        r.penalizeWhileFinetuning = true;
        r.finetuneLambda = 0.5;
        r.penaltyWeighting = Recipe::PenaltyWeighting::PerActivation;
        r.finetuneEpochs = 4;
        r.rampEpochs = 2.5;
        r.finetuneBandFactor = 2.0;
        const QString file = dir_.filePath(QStringLiteral("recipe.json"));
        r.save(file.toStdString());
        const Recipe back = Recipe::load(file.toStdString());
        QCOMPARE(back.toJson(), r.toJson());
        QCOMPARE(back.method, Recipe::Method::L1Only);
        QCOMPARE(back.maxDepth, 3);
        QCOMPARE(back.distillationWeight, 0.75);
        QCOMPARE(back.distillationTemperature, 3.0);
        QVERIFY(back.freezeBatchNorm);
        QVERIFY(back.perChannelThresholds);
        QCOMPARE(back.channelReference, ChannelReference::MedianPositive);
        QCOMPARE(back.finetuneLambda, 0.5);
        QCOMPARE(back.finetuneLambdaOrDefault(), 0.5);
        QCOMPARE(back.penaltyWeighting, Recipe::PenaltyWeighting::PerActivation);
        QCOMPARE(back.rampEpochs, 2.5);
        QCOMPARE(back.finetuneBandFactor, 2.0);
        Recipe learning = Recipe::forMethod(Recipe::Method::Star); // per-channel thresholds cannot be learned
        learning.learnThresholds = true;
        learning.thresholdLearningRate = 0.004;
        learning.sparsityWeight = 0.25;
        learning.sparsityWeighting = Recipe::PenaltyWeighting::PerActivation;
        const Recipe learnt = Recipe::fromJson(learning.toJson(), "learning.json");
        QVERIFY(learnt.learnThresholds);
        QCOMPARE(learnt.thresholdLearningRate, 0.004);
        QCOMPARE(learnt.sparsityWeight, 0.25);
        QCOMPARE(learnt.sparsityWeighting, Recipe::PenaltyWeighting::PerActivation);
        QCOMPARE(learnt.toJson(), learning.toJson());
        {
            Recipe greedy;
            greedy.searchStrategy = SearchOptions::Strategy::Greedy;
            greedy.bandPerChannel = true;
            greedy.constantShare = 0.25;
            greedy.constantsFirst = true;
            const Recipe read = Recipe::fromJson(greedy.toJson(), "greedy.json");
            QCOMPARE(read.constantShare, 0.25);
            QVERIFY(read.constantsFirst);
            QCOMPARE(read.searchStrategy, SearchOptions::Strategy::Greedy);
            QVERIFY(read.bandPerChannel);
        }
        {
            const Recipe defaults = Recipe::fromJson(R"({"schema": "sparsity-explorer/recipe", "version": 1, "penalty": {"lambda": 3}})", "x");
            QVERIFY(!defaults.perChannelThresholds);
            QCOMPARE(defaults.finetuneLambdaOrDefault(), 3.0); // absent: the penalty's lambda
            QVERIFY(!QString::fromStdString(defaults.toJson()).contains(QStringLiteral("\"lambda\": -1")));
        }

        const std::vector<std::pair<std::string, std::string>> bad{
            {"{", "not a JSON object"},
            {"{\"schema\": \"other\", \"version\": 1}", "not a recipe file"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 7}", "version 7"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"method\": \"magic\"}", "'method'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"penalty\": {\"lambda\": -1}}", "'penalty.lambda'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"band\": {\"mode\": \"quantile\", \"value\": 3}}", "'band.value'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"distillation\": {\"weight\": 2}}", "'distillation.weight'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"batchnorm\": \"maybe\"}", "'batchnorm'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"thresholds\": {\"per_channel\": \"yes\"}}",
             "'thresholds.per_channel'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"thresholds\": {\"channel_reference\": \"max\"}}",
             "'thresholds.channel_reference'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"finetune\": {\"lambda\": -2}}", "'finetune.lambda'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"finetune\": {\"ramp_epochs\": -1}}", "'finetune.ramp_epochs'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"finetune\": {\"epochs\": 2, \"ramp_epochs\": 3}}",
             "'finetune.ramp_epochs'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"penalty\": {\"weighting\": \"pixels\"}}", "'penalty.weighting'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"band\": {\"per_channel\": 1}}", "'band.per_channel'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"thresholds\": {\"constant_share\": 2}}", "'thresholds.constant_share'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"thresholds\": {\"constants_first\": 1}}", "'thresholds.constants_first'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"thresholds\": {\"strategy\": \"random\"}}", "'thresholds.strategy'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"finetune\": {\"band_factor\": 0.5}}", "'finetune.band_factor'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"finetune\": {\"learn_thresholds\": true, \"epochs\": 2, \"ramp_epochs\": 1}}",
             "'finetune.learn_thresholds'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"finetune\": {\"sparsity_weighting\": \"events\"}}",
             "'finetune.sparsity_weighting'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"thresholds\": {\"per_channel\": true}, \"finetune\": {\"learn_thresholds\": true}}",
             "'finetune.learn_thresholds'"},
            {"{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1, \"thresholds\": {\"strategy\": \"greedy\", \"per_channel\": true}}",
             "'thresholds.strategy'"},
        };
        for (const auto &[json, expected] : bad) {
            try {
                Recipe::fromJson(json, "bad.json");
                QFAIL(qPrintable(QStringLiteral("accepted: ") + QString::fromStdString(json)));
            } catch (const Error &e) {
                const QString message = QString::fromUtf8(e.what());
                QVERIFY2(message.startsWith(QStringLiteral("bad.json")) && message.contains(QString::fromStdString(expected)),
                         qPrintable(message));
            }
        }
        Recipe unknownSite;
        unknownSite.scopeMode = Recipe::ScopeMode::Sites;
        unknownSite.scopeSites = {"no.such.site"};
        QVERIFY_THROWS_EXCEPTION(Error, scopeMask(unknownSite, *resnet()));
    }

    // A recipe that sets one threshold per site replaces per-channel thresholds the model started with (they would
    // otherwise override the new values in the probes).
    void globalThresholdPhaseReplacesChannelThresholds()
    {
        Recipe recipe = smallRecipe(Recipe::ThresholdMode::Global);
        recipe.globalThreshold = 0.2;
        recipe.regularizeEpochs = 0;
        auto m = resnet();
        m->setChannelThresholds(0, std::vector<float>(std::size_t(m->sites()[0].shape[0]), 3.0f));
        TrainingData data{train_.get(), test_.get(), m->defaultPreprocessing()};
        const auto r = train(*m, recipe, data, dir_.filePath(QStringLiteral("global")).toStdString(), false);
        QVERIFY(!r.cancelled);
        for (const auto &site : m->sites()) {
            QVERIFY(m->channelThresholds()[std::size_t(site.index)].empty());
            QCOMPARE(m->thresholds()[std::size_t(site.index)], site.sparsifiable ? 0.2f : 0.0f);
        }
    }

    // finetune.ramp_epochs: the round's thresholds grow linearly, step by step, and are reached exactly at the end of
    // the ramp; a run cancelled mid-ramp leaves the model with the round's thresholds (as its checkpoint has them).
    void rampRaisesThresholdsStepByStep()
    {
        Recipe recipe = fineTuneAtGlobalThreshold();
        recipe.rampEpochs = 1.5;
        auto m = resnet();
        TrainingData data{train_.get(), test_.get(), m->defaultPreprocessing()};
        std::vector<std::pair<int, float>> seen; // (step counted over the phase, threshold of the stem)
        TrainingCallbacks callbacks;
        callbacks.step = [&](const TrainingStep &s) { seen.emplace_back(s.epoch * s.stepsPerEpoch + s.step, m->thresholds()[0]); };
        const auto r = train(*m, recipe, data, dir_.filePath(QStringLiteral("ramp")).toStdString(), false, nullptr, callbacks);
        QVERIFY(!r.cancelled);
        const int steps = int(seen.size()) / 2;
        QCOMPARE(steps, 8); // 256 images in batches of 32
        for (const auto &[step, t] : seen) {
            const double expected = 0.2 * std::min(1.0, double(step + 1) / (1.5 * steps));
            QVERIFY2(std::abs(double(t) - expected) < 1e-6, qPrintable(QStringLiteral("step %1: %2 vs %3").arg(step).arg(t).arg(expected)));
        }
        QCOMPARE(seen.back().second, 0.2f);
        QCOMPARE(r.thresholds[0], 0.2f);

        auto cancelled = resnet();
        const auto c = cancelledRun(*cancelled, recipe, data, dir_.filePath(QStringLiteral("ramp-cancelled")), 0, 3);
        QVERIFY(c.cancelled);
        QCOMPARE(cancelled->thresholds()[0], 0.2f);
    }

    void resumeAfterCancelMatchesAnUninterruptedRun()
    {
        Recipe recipe = smallRecipe(Recipe::ThresholdMode::Quantile);
        recipe.rounds = 2; // regularize, (thresholds, fine-tune) x 2: the cancel lands in the second round
        recipe.penalizeWhileFinetuning = true;
        recipe.distillationWeight = 0.5; // the teacher must survive the interruption too
        recipe.bandPerChannel = true;    // and the per-channel bands, measured before the first epoch
        const auto probe = loadBatches(*test_, resnet()->defaultPreprocessing(), firstN(*test_, 16), 16);

        auto straight = resnet();
        TrainingData data{train_.get(), test_.get(), straight->defaultPreprocessing()};
        int epochs = 0;
        TrainingCallbacks counting;
        counting.epoch = [&](const EpochReport &) { ++epochs; };
        const auto a = train(*straight, recipe, data, dir_.filePath(QStringLiteral("straight")).toStdString(), false, nullptr, counting);
        QVERIFY(!a.cancelled);
        QCOMPARE(epochs, 3);
        QCOMPARE(a.epochsDone, 3);
        QVERIFY(QFile::exists(QString::fromStdString(a.checkpoints.back())));
        const auto expected = forwardOutput(*straight, probe[0], true);

        auto interrupted = resnet();
        const QString ckpt = dir_.filePath(QStringLiteral("resumed"));
        const auto b = cancelledRun(*interrupted, recipe, data, ckpt, 2, 3);
        QVERIFY(b.cancelled);
        QCOMPARE(b.epochsDone, 2);
        // The same session resumes too: its model holds half-trained weights, so a teacher rebuilt from them
        // instead of read back from the checkpoint folder would change the result.
        const QString sameSession = dir_.filePath(QStringLiteral("resumed-same-session"));
        QVERIFY(QDir().mkpath(sameSession));
        for (const auto &name : QDir(ckpt).entryList(QDir::Files))
            QVERIFY(QFile::copy(ckpt + QLatin1Char('/') + name, sameSession + QLatin1Char('/') + name));
        QVERIFY(QFile::exists(sameSession + QStringLiteral("/teacher.pt")));
        const auto d = train(*interrupted, recipe, data, sameSession.toStdString(), true);
        QCOMPARE(d.epochsDone, 3);
        const auto sameSessionOutput = forwardOutput(*interrupted, probe[0], true);

        auto resumed = resnet(); // a new session: only the checkpoint carries the state
        const auto c = train(*resumed, recipe, data, ckpt.toStdString(), true);
        QVERIFY(!c.cancelled);
        QCOMPARE(c.epochsDone, 3);
        QCOMPARE(c.thresholds, a.thresholds);
        QCOMPARE(c.channelBands, a.channelBands);
        QVERIFY(std::any_of(a.channelBands.begin(), a.channelBands.end(), [](const auto &b) { return !b.empty(); }));
        const auto got = forwardOutput(*resumed, probe[0], true);
        QCOMPARE(got.size(), expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            QVERIFY2(std::abs(got[i] - expected[i]) <= 1e-5f * (1.0f + std::abs(expected[i])),
                     qPrintable(QStringLiteral("%1: %2 vs %3").arg(i).arg(got[i]).arg(expected[i])));
            QVERIFY2(std::abs(sameSessionOutput[i] - expected[i]) <= 1e-5f * (1.0f + std::abs(expected[i])),
                     qPrintable(QStringLiteral("same session %1: %2 vs %3").arg(i).arg(sameSessionOutput[i]).arg(expected[i])));
        }

        // The fine-tuned weights and thresholds go into the export, which reproduces the engine's outputs.
        const auto plain = exportedOutput(*resumed, recipe, QStringLiteral("tuned.pt"), probe[0]);
        QVERIFY(std::memcmp(plain.data(), got.data(), got.size() * sizeof(float)) == 0);
    }

    // finetune.learn_thresholds: the straight-through mask thresholds exactly as the fixed threshold does (with no
    // learning rate and no pressure a run is bit-identical to one with fixed thresholds); the sparsity pressure raises
    // every learned threshold; a cancelled run resumes to the uninterrupted run's learned thresholds and outputs.
    void learnedThresholds()
    {
        Recipe fixed = fineTuneAtGlobalThreshold();
        fixed.distillationWeight = 0.5;
        Recipe still = fixed;
        still.learnThresholds = true;
        still.thresholdLearningRate = 0.0;
        still.sparsityWeight = 0.0;
        const auto probe = loadBatches(*test_, resnet()->defaultPreprocessing(), firstN(*test_, 16), 16);
        auto runOf = [&](const Recipe &recipe, const QString &name, std::shared_ptr<Model> &model) {
            model = resnet();
            TrainingData data{train_.get(), test_.get(), model->defaultPreprocessing()};
            return train(*model, recipe, data, dir_.filePath(name).toStdString());
        };
        std::shared_ptr<Model> a, b;
        const auto fixedRun = runOf(fixed, QStringLiteral("learn-fixed"), a);
        const auto stillRun = runOf(still, QStringLiteral("learn-still"), b);
        QCOMPARE(stillRun.thresholds, fixedRun.thresholds);
        const auto fixedOut = forwardOutput(*a, probe[0], true), stillOut = forwardOutput(*b, probe[0], true);
        QCOMPARE(stillOut.size(), fixedOut.size());
        QVERIFY(std::memcmp(stillOut.data(), fixedOut.data(), fixedOut.size() * sizeof(float)) == 0);

        Recipe pressed = still;
        pressed.thresholdLearningRate = 0.01;
        pressed.sparsityWeight = 50.0;
        std::shared_ptr<Model> c;
        double penalty = 0.0, firstPenalty = -1.0;
        {
            c = resnet();
            TrainingData data{train_.get(), test_.get(), c->defaultPreprocessing()};
            TrainingCallbacks callbacks;
            callbacks.step = [&](const TrainingStep &s) {
                penalty += s.penalty;
                if (firstPenalty < 0.0)
                    firstPenalty = s.penalty;
            };
            const auto r = train(*c, pressed, data, dir_.filePath(QStringLiteral("learn-pressed")).toStdString(), false, nullptr, callbacks);
            QCOMPARE(r.thresholds, c->thresholds());
            int learned = 0;
            for (const auto &site : c->sites()) {
                const float t = r.thresholds[std::size_t(site.index)];
                if (!site.sparsifiable) {
                    QCOMPARE(t, 0.0f);
                    continue;
                }
                ++learned;
                QVERIFY2(t > 0.2f, qPrintable(QStringLiteral("%1: %2").arg(QString::fromStdString(site.name)).arg(t)));
            }
            QVERIFY(learned >= 4);
        }
        QVERIFY(penalty > 0.0); // the pressure is part of the reported penalty
        // Weighing the sites by their size changes the first step's pressure (same model, same batch, same thresholds).
        Recipe weighed = pressed;
        weighed.sparsityWeighting = Recipe::PenaltyWeighting::PerActivation;
        double weighedFirst = -1.0;
        {
            auto w = resnet();
            TrainingData data{train_.get(), test_.get(), w->defaultPreprocessing()};
            TrainingCallbacks callbacks;
            callbacks.step = [&](const TrainingStep &s) {
                if (weighedFirst < 0.0)
                    weighedFirst = s.penalty;
            };
            train(*w, weighed, data, dir_.filePath(QStringLiteral("learn-weighed")).toStdString(), false, nullptr, callbacks);
        }
        QVERIFY(firstPenalty > 0.0 && weighedFirst > 0.0);
        QVERIFY2(std::abs(weighedFirst - firstPenalty) > 1e-3 * firstPenalty,
                 qPrintable(QStringLiteral("%1 vs %2").arg(weighedFirst).arg(firstPenalty)));

        Recipe resumable = pressed;
        resumable.sparsityWeight = 1.0;
        std::shared_ptr<Model> straight;
        const auto whole = runOf(resumable, QStringLiteral("learn-whole"), straight);
        auto interrupted = resnet();
        TrainingData data{train_.get(), test_.get(), interrupted->defaultPreprocessing()};
        const QString ckpt = dir_.filePath(QStringLiteral("learn-resumed"));
        QVERIFY(cancelledRun(*interrupted, resumable, data, ckpt, 1, 3).cancelled);
        auto resumed = resnet();
        const auto again = train(*resumed, resumable, data, ckpt.toStdString(), true);
        QCOMPARE(again.epochsDone, 2);
        QCOMPARE(again.thresholds.size(), whole.thresholds.size());
        for (std::size_t i = 0; i < whole.thresholds.size(); ++i)
            QVERIFY2(std::abs(again.thresholds[i] - whole.thresholds[i]) <= 1e-6f,
                     qPrintable(QStringLiteral("site %1: %2 vs %3").arg(i).arg(again.thresholds[i]).arg(whole.thresholds[i])));
        QVERIFY(whole.thresholds != fixedRun.thresholds);
        const auto expected = forwardOutput(*straight, probe[0], true), got = forwardOutput(*resumed, probe[0], true);
        for (std::size_t i = 0; i < got.size(); ++i)
            QVERIFY2(std::abs(got[i] - expected[i]) <= 1e-5f * (1.0f + std::abs(expected[i])),
                     qPrintable(QStringLiteral("%1: %2 vs %3").arg(i).arg(got[i]).arg(expected[i])));
    }

    // With a learning rate of 0 nothing but BatchNorm's running statistics can change the outputs: frozen, they
    // stay bit-identical; in train mode a few batches move them.
    void frozenBatchNormKeepsRunningStatistics()
    {
        Recipe recipe = smallRecipe(Recipe::ThresholdMode::Keep);
        recipe.method = Recipe::Method::Relu;
        recipe.lambda = 0.0;
        recipe.finetuneEpochs = 0;
        recipe.trainImages = 96;
        recipe.regularizeOptimizer.learningRate = 0.0;
        const auto probe = loadBatches(*test_, resnet()->defaultPreprocessing(), firstN(*test_, 16), 16);
        const auto before = forwardOutput(*resnet(), probe[0], true);
        for (bool frozen : {true, false}) {
            recipe.freezeBatchNorm = frozen;
            auto m = resnet();
            TrainingData data{train_.get(), test_.get(), m->defaultPreprocessing()};
            train(*m, recipe, data, dir_.filePath(frozen ? QStringLiteral("bn-frozen") : QStringLiteral("bn-train")).toStdString());
            const auto after = forwardOutput(*m, probe[0], true);
            const bool identical = std::memcmp(after.data(), before.data(), before.size() * sizeof(float)) == 0;
            QVERIFY2(identical == frozen, frozen ? "frozen BatchNorm changed the outputs" : "training BatchNorm changed nothing");
        }
    }

    void trainingRefusesUnlabelledOrMissingData()
    {
        auto m = resnet();
        TrainingData data{train_.get(), nullptr, m->defaultPreprocessing()};
        QVERIFY_THROWS_EXCEPTION(Error, train(*m, smallRecipe(Recipe::ThresholdMode::Keep), data, dir_.filePath(QStringLiteral("x")).toStdString()));
    }
};

QTEST_GUILESS_MAIN(TestStar)
#include "tst_star.moc"
