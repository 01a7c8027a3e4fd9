// The held-out STAR protocol's pieces (issue #17): augmentation reaches the training loop, Kurtz's Hoyer-square on
// the whole tensor, a validation split that shares no image with training, cached runs skipped on a restart, and
// fronts read at equal loss.
#include "capture/capture.h"
#include "data/dataset.h"
#include "graph/model.h"
#include "testmodels.h"
#include "tune/protocol.h"
#include "tune/recipe.h"
#include "tune/training.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <set>

using namespace sparsity;

class TestProtocol : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::unique_ptr<Dataset> train_, test_;

    std::shared_ptr<Model> resnet() const { return Model::load(testmodels::sampleModel("sample-resnet").toStdString()); }

    // The first training batch of a one-epoch ReLU fine-tune under `recipe`, as the optimizer step got it.
    Batch firstTrainingBatch(const Recipe &recipe)
    {
        auto m = resnet();
        TrainingCallbacks callbacks;
        Batch first;
        callbacks.batch = [&](const Batch &b) {
            if (first.n == 0)
                first = b;
        };
        const QString checkpoints = dir_.filePath(QStringLiteral("aug-%1").arg(recipe.augment));
        train(*m, recipe, {train_.get(), test_.get(), m->defaultPreprocessing()}, checkpoints.toStdString(), false, nullptr,
              callbacks);
        return first;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        qputenv("SPARSITY_THREADS", "2");
        train_ = openDataset(testmodels::sampleData().toStdString(), Split::Train);
        test_ = openDataset(testmodels::sampleData().toStdString(), Split::Test);
    }

    // The recipe's `augment` reaches the batches the optimizer steps on: with it, the images differ from the same
    // images preprocessed plainly (some cropped off-centre, some flipped); without it they are those images exactly.
    void augmentationReachesTheTrainingLoop()
    {
        Recipe r = Recipe::forMethod(Recipe::Method::Relu);
        r.regularizeEpochs = 1;
        r.finetuneEpochs = 0;
        r.trainImages = 64;
        r.calibrationImages = 32;
        r.validationImages = 32;
        r.batchSize = 64;
        auto plainOf = [&](const Batch &b) {
            return loadBatches(*train_, resnet()->defaultPreprocessing(), b.indices, std::size_t(b.n))[0];
        };
        r.augment = true;
        const Batch augmented = firstTrainingBatch(r);
        QCOMPARE(augmented.n, 64);
        const Batch plain = plainOf(augmented);
        const std::size_t perImage = augmented.data.size() / std::size_t(augmented.n);
        int changed = 0;
        for (int i = 0; i < augmented.n; ++i)
            changed += !std::equal(augmented.data.begin() + std::ptrdiff_t(i * perImage),
                                   augmented.data.begin() + std::ptrdiff_t((i + 1) * perImage),
                                   plain.data.begin() + std::ptrdiff_t(i * perImage));
        // A flip (1/2) or a shift (24 of 25 offsets with padding 2) changes almost every image.
        QVERIFY2(changed > 48, qPrintable(QString::number(changed)));

        r.augment = false;
        const Batch unaugmented = firstTrainingBatch(r);
        QVERIFY(unaugmented.indices == augmented.indices); // the same images in the same order: only augmentation differs
        QVERIFY(unaugmented.data == plainOf(unaugmented).data);

        const Preprocessing p = trainingPreprocessing(r, Preprocessing::mnistLike28());
        QCOMPARE(p.randomCropPadding, 0);
        r.augment = true;
        r.cropPadding = 3;
        const Preprocessing q = trainingPreprocessing(r, Preprocessing::mnistLike28());
        QCOMPARE(q.randomCropPadding, 3);
        QVERIFY(q.horizontalFlip);
    }

    // Kurtz et al. 2020: H = (sum |y|)^2 / sum y^2 over a site's whole output (divided by its element count here).
    // dH/dy_i = (2 S1 sign(y_i) / S2 - 2 S1^2 y_i / S2^2) / n, for every element, in the band or not.
    void hoyerSquareGradientCoversTheWholeTensor()
    {
        auto m = resnet();
        Recipe r = Recipe::forMethod(Recipe::Method::HoyerThreshold);
        r.lambda = 1.0;
        QCOMPARE(r.penalty, Recipe::Penalty::HoyerSquare);
        const std::vector<float> bands(m->sites().size(), 0.1f); // a band Hoyer-square must ignore
        const auto batches = loadBatches(*test_, m->defaultPreprocessing(), firstN(*test_, 1), 1);
        const auto inspection = inspectPenalty(*m, r, bands, batches[0]);
        const auto scope = scopeMask(r, *m);
        double total = 0.0;
        int checked = 0;
        for (const auto &s : m->sites()) {
            if (!scope[std::size_t(s.index)])
                continue;
            const auto &y = inspection.outputs[std::size_t(s.index)];
            const auto &g = inspection.gradients[std::size_t(s.index)];
            QVERIFY(!y.empty());
            double s1 = 0.0, s2 = 0.0;
            for (float v : y) {
                s1 += std::abs(double(v));
                s2 += double(v) * double(v);
            }
            const double n = double(y.size());
            total += s1 * s1 / s2 / n;
            std::size_t outOfBandPushed = 0;
            double maxError = 0.0, maxGradient = 0.0;
            for (std::size_t i = 0; i < y.size(); ++i) {
                const double v = y[i];
                const double expected = (2.0 * s1 * (v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0) / s2 - 2.0 * s1 * s1 * v / (s2 * s2)) / n;
                maxError = std::max(maxError, std::abs(expected - double(g[i])));
                maxGradient = std::max(maxGradient, std::abs(expected));
                outOfBandPushed += v > 0.1 && g[i] != 0.0f;
            }
            QVERIFY2(maxError <= 1e-4 * maxGradient, qPrintable(QStringLiteral("%1: error %2 of %3")
                                                                    .arg(QString::fromStdString(s.name))
                                                                    .arg(maxError)
                                                                    .arg(maxGradient)));
            QVERIFY2(outOfBandPushed > 0, qPrintable(QString::fromStdString(s.name)));
            // A finite difference of H in double precision on the largest element agrees with the analytic slope.
            const std::size_t k = std::size_t(std::max_element(y.begin(), y.end()) - y.begin());
            const double h = 1e-3 * double(y[k]);
            auto hoyer = [&](double delta) {
                const double a = s1 - std::abs(double(y[k])) + std::abs(double(y[k]) + delta);
                const double b = s2 - double(y[k]) * double(y[k]) + (double(y[k]) + delta) * (double(y[k]) + delta);
                return a * a / b / n;
            };
            const double fd = (hoyer(h) - hoyer(-h)) / (2.0 * h);
            QVERIFY2(std::abs(fd - double(g[k])) <= 1e-3 * std::abs(fd) + 1e-9,
                     qPrintable(QStringLiteral("fd %1 vs %2").arg(fd).arg(g[k])));
            // Above L2^2/L1 the slope is negative: Hoyer-square pushes the largest values up, the small ones down.
            QVERIFY(g[k] < 0.0f);
            ++checked;
        }
        QVERIFY(checked >= 3);
        QVERIFY2(std::abs(total - inspection.penalty) <= 1e-4 * total,
                 qPrintable(QStringLiteral("%1 vs %2").arg(total).arg(inspection.penalty)));
    }

    // The validation split is fixed by its seed and shares no image with the training split; together they are the
    // whole training set. Checked on the images' own names, through the subset views training reads.
    void validationSplitSharesNoImage()
    {
        const auto split = heldOutSplit(train_->size(), 1000, 17);
        QCOMPARE(split.validation.size(), std::size_t(1000));
        QCOMPARE(split.train.size(), train_->size() - 1000);
        QCOMPARE(heldOutSplit(train_->size(), 1000, 17).validation, split.validation);
        QVERIFY(heldOutSplit(train_->size(), 1000, 18).validation != split.validation);
        auto training = subsetOf(*train_, split.train, "training split");
        auto validation = subsetOf(*train_, split.validation, "validation split");
        std::set<std::string> seen;
        for (std::size_t i = 0; i < training->size(); ++i)
            seen.insert(training->itemName(i));
        for (std::size_t i = 0; i < validation->size(); ++i) {
            QVERIFY2(!seen.count(validation->itemName(i)), validation->itemName(i).c_str());
            seen.insert(validation->itemName(i));
        }
        QCOMPARE(seen.size(), train_->size());
        QCOMPARE(validation->label(5), train_->label(split.validation[5]));
        QVERIFY_THROWS_EXCEPTION(std::exception, heldOutSplit(100, 100, 1));
    }

    // The per-epoch check a recipe choice reads and the calibration images the threshold search fits to share no
    // image (by the images' names); a split too small for both is refused.
    void checkImagesAreNotCalibrationImages()
    {
        const auto split = heldOutSplit(train_->size(), 1000, 17);
        const auto uses = validationUses(split.validation, 400, 400, 300);
        QCOMPARE(uses.calibration.size(), std::size_t(400));
        QCOMPARE(uses.check.size(), std::size_t(300));
        auto calibration = subsetOf(*train_, uses.calibration, "calibration");
        auto check = subsetOf(*train_, uses.check, "check");
        std::set<std::string> calibrated;
        for (std::size_t i = 0; i < calibration->size(); ++i)
            calibrated.insert(calibration->itemName(i));
        QCOMPARE(calibrated.size(), std::size_t(400));
        for (std::size_t i = 0; i < check->size(); ++i)
            QVERIFY2(!calibrated.count(check->itemName(i)), check->itemName(i).c_str());
        QCOMPARE(validationUses(split.validation, 400, 0, 300).check.front(), split.validation.front()); // the old overlap
        QVERIFY_THROWS_EXCEPTION(Error, validationUses(split.validation, 400, 800, 300));
        QVERIFY_THROWS_EXCEPTION(Error, validationUses(split.validation, 1001, 0, 10));
    }

    // A finished run is read back and not run again; other settings run it again; a broken file is an error
    // that names it.
    void cachedRunIsSkipped()
    {
        RunCache cache(dir_.filePath(QStringLiteral("runs")).toStdString());
        int ran = 0;
        auto run = [&] {
            ++ran;
            RunRecord r;
            r.top1 = 91.25;
            r.nonzerosPerImage = 12345.0;
            r.validationTop1 = 90.5;
            r.latencySeconds = 2e-5;
            return r;
        };
        bool skipped = true;
        auto first = cache.getOrRun("resnet", "star", "budget 0.50", 2, "settings A", run, &skipped);
        QVERIFY(!skipped);
        QCOMPARE(ran, 1);
        auto again = cache.getOrRun("resnet", "star", "budget 0.50", 2, "settings A", run, &skipped);
        QVERIFY(skipped);
        QCOMPARE(ran, 1);
        QCOMPARE(again.top1, 91.25);
        QCOMPARE(again.nonzerosPerImage, 12345.0);
        QCOMPARE(again.latencySeconds, 2e-5);
        cache.getOrRun("resnet", "star", "budget 0.50", 3, "settings A", run, &skipped); // another seed
        QVERIFY(!skipped);
        cache.getOrRun("resnet", "star", "budget 0.50", 2, "settings B", run, &skipped); // other settings
        QVERIFY(!skipped);
        QCOMPARE(ran, 3);

        const std::string path = cache.pathFor("resnet", "l1-only", "lambda 1", 1);
        QFile f(QString::fromStdString(path));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"top1\": 3");
        f.close();
        try {
            cache.getOrRun("resnet", "l1-only", "lambda 1", 1, "settings A", run);
            QFAIL("a broken cache file was accepted");
        } catch (const std::exception &e) {
            QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
        }
    }

    // Mean and sample standard deviation pair each run with the baseline of its seed; equal loss interpolates
    // between the non-dominated points that bracket it.
    void frontsAtEqualLoss()
    {
        auto run = [](std::uint64_t seed, const std::string &point, double top1, double nonzeros) {
            RunRecord r;
            r.seed = seed;
            r.point = point;
            r.top1 = top1;
            r.nonzerosPerImage = nonzeros;
            r.latencySeconds = nonzeros * 1e-9;
            return r;
        };
        const std::vector<RunRecord> relu{run(1, "fine-tune", 92.0, 1000), run(2, "fine-tune", 91.0, 2000)};
        const std::vector<RunRecord> runs{run(1, "a", 91.8, 600), run(2, "a", 90.8, 1200), // -0.2 pp, 40 %
                                          run(1, "b", 91.4, 400), run(2, "b", 90.2, 800),  // -0.6/-0.8 pp, 60 %
                                          run(1, "c", 91.0, 700), run(2, "c", 90.0, 1400), // dominated
                                          run(3, "a", 50.0, 1)};                           // no baseline: left out
        const auto front = frontOf(runs, relu);
        QCOMPARE(front.size(), std::size_t(3));
        QCOMPARE(front[0].seeds, 2);
        QVERIFY(std::abs(front[0].deltaTop1Mean + 0.2) < 1e-9);
        QVERIFY(std::abs(front[1].deltaTop1Mean + 0.7) < 1e-9);
        QVERIFY(std::abs(front[1].deltaTop1Std - std::sqrt(0.02)) < 1e-9);
        QVERIFY(std::abs(front[1].removedMean - 0.6) < 1e-9);
        const auto half = atEqualLoss(front, 0.5); // 0.2 -> 40 %, 0.7 -> 60 %: 0.5 is 3/5 of the way
        QVERIFY(half.valid);
        QVERIFY2(std::abs(half.removed - 0.52) < 1e-9, qPrintable(QString::number(half.removed)));
        QVERIFY(!atEqualLoss(front, 0.1).valid);
        QVERIFY(std::abs(atEqualLoss(front, 1.0).removed - 0.6) < 1e-9); // beyond the front: its best point
    }
};

QTEST_GUILESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
