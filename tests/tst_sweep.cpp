// The sweep (core/tune/sweep.h): each point's figures are an exact evaluation of its thresholds, the rule's
// thresholds come from the calibration images only, the model's thresholds survive, cancel keeps what finished.
#include "capture/capture.h"
#include "data/dataset.h"
#include "error.h"
#include "graph/model.h"
#include "hardware/processorpreset.h"
#include "testmodels.h"
#include "tune/sweep.h"
#include "tune/thresholdsearch.h"

#include <QTest>

#include <atomic>
#include <cmath>

using namespace sparsity;

class TestSweep : public QObject {
    Q_OBJECT

    std::shared_ptr<Model> model_;
    std::vector<Batch> calibration_, evaluation_;

    std::vector<bool> mask() const
    {
        std::vector<bool> m;
        for (const Site &s : model_->sites())
            m.push_back(s.sparsifiable);
        return m;
    }

private Q_SLOTS:
    void initTestCase()
    {
        model_ = Model::load(testmodels::sampleModel("sample-resnet").toStdString());
        const auto train = openDataset(testmodels::sampleData().toStdString(), Split::Train);
        const auto test = openDataset(testmodels::sampleData().toStdString(), Split::Test);
        calibration_ = loadBatches(*train, model_->defaultPreprocessing(), firstN(*train, 256), 128);
        evaluation_ = loadBatches(*test, model_->defaultPreprocessing(), firstN(*test, 300), 100);
    }

    void quantilePointsAreExactEvaluationsAndTheModelKeepsItsThresholds()
    {
        std::vector<float> own(model_->sites().size(), 0.0f);
        own[1] = 0.125f;
        model_->setThresholds(own);
        const ProcessorParams nf = loadPreset(builtInPresetDir() + QStringLiteral("/neuronflow-28nm.json"));
        SweepOptions o;
        o.rule = SweepOptions::Rule::Quantile;
        o.values = {0.6, 0.75, 0.9};
        std::vector<double> fractions;
        const SweepResult r = runSweep(*model_, calibration_, evaluation_, o, &nf, nullptr,
                                       [&](const SweepProgress &p) { fractions.push_back(p.fraction); });
        QVERIFY(!r.cancelled);
        QCOMPARE(r.points.size(), std::size_t(3));
        QCOMPARE(r.evaluationImages, std::size_t(300));
        QCOMPARE(model_->thresholds(), own);
        QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));
        QCOMPARE(fractions.back(), 1.0);

        // The baseline is the activations alone.
        CaptureOptions plain;
        plain.thresholds = Thresholds{std::vector<float>(own.size(), 0.0f), {}};
        const CaptureResult base = capture(*model_, evaluation_, plain);
        QCOMPARE(r.baseline.score, base.score());
        QCOMPARE(r.baseline.nonzerosPerImage, base.nonzerosPerImage(mask()));

        for (const SweepPoint &p : r.points) {
            CaptureOptions again;
            again.thresholds = p.thresholds;
            const CaptureResult e = capture(*model_, evaluation_, again);
            QCOMPARE(p.score, e.score());
            QCOMPARE(p.sparsity, e.activationSparsity(mask()));
            QCOMPARE(p.nonzerosPerImage, e.nonzerosPerImage(mask()));
            QVERIFY(p.latencySeconds && *p.latencySeconds > 0.0);
            QVERIFY(p.energyPerFrameJ && p.fps);
        }
        // A higher target removes more, and so projects less latency and energy than the baseline.
        QVERIFY(r.points[0].nonzerosPerImage > r.points[1].nonzerosPerImage);
        QVERIFY(r.points[1].nonzerosPerImage > r.points[2].nonzerosPerImage);
        QVERIFY(r.points[2].sparsity > 0.85);
        QVERIFY(*r.points[2].latencySeconds < *r.baseline.latencySeconds);
        QVERIFY(*r.points[2].energyPerFrameJ < *r.baseline.energyPerFrameJ);
        model_->setThresholds(std::vector<float>(own.size(), 0.0f));
    }

    void searchPointsMatchTheSearchItself()
    {
        SweepOptions o;
        o.values = {0.5, 2.0};
        o.search.stepsPerSite = 4;
        o.search.refine = false;
        const SweepResult r = runSweep(*model_, calibration_, evaluation_, o);
        QCOMPARE(r.points.size(), std::size_t(2));
        for (const SweepPoint &p : r.points) {
            model_->setThresholds(std::vector<float>(model_->sites().size(), 0.0f));
            SearchOptions s = o.search;
            s.budgetPp = p.value;
            const SearchResult direct = searchThresholds(*model_, calibration_, s);
            QCOMPARE(p.thresholds.scalar, direct.thresholds);
        }
        QVERIFY(r.points[1].nonzerosPerImage < r.points[0].nonzerosPerImage); // a larger budget removes more
        model_->setThresholds(std::vector<float>(model_->sites().size(), 0.0f));
    }

    void paretoMarksTheUndominatedPoints()
    {
        SweepPoint base;
        base.score = 90.0;
        base.nonzerosPerImage = 100.0;
        std::vector<SweepPoint> pts(4);
        pts[0].score = 89.5, pts[0].nonzerosPerImage = 60.0; // on the front
        pts[1].score = 89.0, pts[1].nonzerosPerImage = 70.0; // worse than 0 on both
        pts[2].score = 88.0, pts[2].nonzerosPerImage = 40.0; // on the front
        pts[3].score = 89.5, pts[3].nonzerosPerImage = 60.0; // a tie with 0: neither dominates
        markPareto(pts, base);
        QVERIFY(pts[0].pareto);
        QVERIFY(!pts[1].pareto);
        QVERIFY(pts[2].pareto);
        QVERIFY(pts[3].pareto);
        std::vector<SweepPoint> worse(1);
        worse[0].score = 89.0, worse[0].nonzerosPerImage = 100.0; // the baseline dominates it
        markPareto(worse, base);
        QVERIFY(!worse[0].pareto);
    }

    void cancelKeepsTheFinishedPoints()
    {
        std::atomic<bool> cancel{false};
        SweepOptions o;
        o.rule = SweepOptions::Rule::Quantile;
        o.values = {0.5, 0.7, 0.9};
        const SweepResult r = runSweep(*model_, calibration_, evaluation_, o, nullptr, &cancel, [&](const SweepProgress &p) {
            if (p.point == 1)
                cancel = true; // while the second point is under way
        });
        QVERIFY(r.cancelled);
        QCOMPARE(r.points.size(), std::size_t(1));
        QCOMPARE(r.points[0].value, 0.5);
    }

    void badValuesAreRefusedWithTheFieldNamed()
    {
        QCOMPARE(testmodels::errorOf([] { checkSweepValues(SweepOptions::Rule::Search, {}, "--budgets"); }),
                 QStringLiteral("--budgets: give at least one value"));
        QVERIFY(testmodels::errorOf([] { checkSweepValues(SweepOptions::Rule::Quantile, {0.5, 1.0}, "--targets"); })
                    .startsWith(QStringLiteral("--targets: 1.000000 is not a target sparsity")));
        QVERIFY(testmodels::errorOf([] { checkSweepValues(SweepOptions::Rule::Search, {0.5, 0.5}, "--budgets"); })
                    .endsWith(QStringLiteral("is given twice")));
        QVERIFY(testmodels::errorOf([] { checkSweepValues(SweepOptions::Rule::Search, {std::nan("")}, "--budgets"); })
                    .contains(QStringLiteral("not a top-1 budget")));
        QVERIFY(testmodels::errorOf([&] { runSweep(*model_, {}, evaluation_, SweepOptions{SweepOptions::Rule::Quantile, {0.5}, {}}); })
                    .contains(QStringLiteral("needs calibration and evaluation images")));
    }
};

QTEST_GUILESS_MAIN(TestSweep)
#include "tst_sweep.moc"
