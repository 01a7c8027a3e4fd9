// Part 2 of the explorer on the offscreen platform, with the sample project on a 256-image subset: the Fine-Tuning
// panel runs a short STAR training (cancelled, started again, resumed from its checkpoint), the tuned state
// becomes the current state as one undo step, the export dialog writes a model that loads and reproduces the
// thresholded outputs, a method comparison fills its table and chart and one of its rows becomes the current state,
// and the dataset browser model (wrapped in QAbstractItemModelTester) filters and selects.
#include "capture/capture.h"
#include "data/dataset.h"
#include "comparisondialog.h"
#include "datasetbrowser.h"
#include "session.h"
#include "sessionspies.h"
#include "exportdialog.h"
#include "heatmapview.h"
#include "mainwindow.h"
#include "graph/model.h"
#include "plotutil.h"
#include "hardware/processor.h"
#include "io/project.h"
#include "tune/recipe.h"
#include "trainingpanel.h"

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QScrollArea>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonDocument>
#include <QJsonObject>
#include <QListView>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>

#include <cmath>
#include <cstring>
#include <ctime>
#include <memory>

using namespace sparsity;
using namespace sparsity::ui;

class TestTrainingPanel : public QObject {
    Q_OBJECT

    std::unique_ptr<MainWindow> window_;
    std::unique_ptr<QAbstractItemModelTester> tester_;
    QStringList errors_;
    QTemporaryDir dir_;

    Session *doc() const { return window_->document(); }
    TrainingPanel *panel() const { return window_->trainingPanel(); }

    static Recipe shortRecipe()
    {
        Recipe r = Recipe::forMethod(Recipe::Method::Star);
        r.regularizeEpochs = 1;
        r.finetuneEpochs = 0;
        r.trainImages = 256;
        r.calibrationImages = 64;
        r.validationImages = 64;
        r.batchSize = 32;
        r.thresholdMode = Recipe::ThresholdMode::Quantile;
        r.targetSparsity = 0.7;
        r.seed = 5;
        return r;
    }

    // Waits for the run to end; returns whether the tuned state was applied.
    bool waitForTraining(ReportSpy &finished)
    {
        if (finished.isEmpty() && !finished.wait(120000))
            return false;
        doc()->waitForIdle(); // the current capture that follows an applied run
        return finished.last().outcome == JobReport::Outcome::Done;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY(dir_.isValid());
        window_ = std::make_unique<MainWindow>();
        window_->setErrorSink([this](const QString &m) { errors_ << m; });
        tester_ = std::make_unique<QAbstractItemModelTester>(window_->datasetBrowser()->model(),
                                                             QAbstractItemModelTester::FailureReportingMode::QtTest);
        window_->resize(1400, 900);
        window_->show();
        Project p = sampleProject();
        p.subset.count = 256;
        QVERIFY(window_->openProject(p, QString()));
        doc()->waitForIdle();
        QVERIFY2(errors_.isEmpty(), qPrintable(errors_.join(QLatin1Char('\n'))));
        QVERIFY(doc()->baseline());
        QVERIFY(!doc()->isModified()); // showing the default recipe does not modify the project
    }

    void datasetBrowserListsFiltersAndSelects()
    {
        DatasetBrowser *browser = window_->datasetBrowser();
        DatasetListModel *model = browser->model();
        QCOMPARE(model->rowCount(), 256);
        const auto &predictions = doc()->baseline()->result.predictions;
        QCOMPARE(predictions.size(), std::size_t(256));
        for (int row : {0, 17, 255}) {
            const QModelIndex i = model->index(row);
            const std::size_t d = doc()->indices()[std::size_t(row)];
            QCOMPARE(i.data(DatasetListModel::DatasetIndexRole).toULongLong(), qulonglong(d));
            QCOMPARE(i.data(DatasetListModel::LabelRole).toInt(), doc()->dataset()->label(d));
            QCOMPARE(i.data(DatasetListModel::BeforeRole).toInt(), predictions[std::size_t(row)]);
            QCOMPARE(i.data(DatasetListModel::AfterRole).toInt(), doc()->current()->result.predictions[std::size_t(row)]);
            const QImage thumb = i.data(Qt::DecorationRole).value<QImage>();
            QVERIFY(!thumb.isNull());
            QVERIFY(thumb.width() <= DatasetListModel::kThumbnail && thumb.height() <= DatasetListModel::kThumbnail);
        }
        // Lazy: only what was asked for (and what a view showed) was decoded.
        QVERIFY2(model->thumbnailsDecoded() < 256, qPrintable(QString::number(model->thumbnailsDecoded())));

        // By class: the combo's entry for class 3.
        int expected = 0;
        for (std::size_t d : doc()->indices())
            expected += doc()->dataset()->label(d) == 3 ? 1 : 0;
        QVERIFY(expected > 0);
        browser->classFilter()->setCurrentIndex(browser->classFilter()->findData(3));
        QCOMPARE(model->rowCount(), expected);
        for (int r = 0; r < model->rowCount(); ++r)
            QCOMPARE(model->index(r).data(DatasetListModel::LabelRole).toInt(), 3);
        browser->classFilter()->setCurrentIndex(0);
        QCOMPARE(model->rowCount(), 256);

        // Misclassified by the current capture.
        const auto &now = doc()->current()->result.predictions;
        int wrong = 0;
        for (std::size_t p = 0; p < now.size(); ++p)
            wrong += now[p] != doc()->dataset()->label(doc()->indices()[p]) ? 1 : 0;
        QVERIFY(wrong > 0 && wrong < 256);
        browser->misclassifiedFilter()->setChecked(true);
        QCOMPARE(model->rowCount(), wrong);
        for (int r = 0; r < model->rowCount(); ++r) {
            const QModelIndex i = model->index(r);
            QVERIFY(i.data(DatasetListModel::AfterRole).toInt() != i.data(DatasetListModel::LabelRole).toInt());
        }
        browser->misclassifiedFilter()->setChecked(false);
        QCOMPARE(model->rowCount(), 256);

        // Clicking a kept image shows it in the Feature Maps view.
        QVERIFY(doc()->keptIndices().size() >= 3);
        window_->heatmapView()->setKeptImage(0);
        QSignalSpy activated(browser, &DatasetBrowser::imageActivated);
        Q_EMIT browser->view()->clicked(model->index(2));
        QCOMPARE(activated.size(), 1);
        QCOMPARE(activated.at(0).at(1).toInt(), 2);
        QCOMPARE(window_->heatmapView()->keptImage(), 2);
        Q_EMIT browser->view()->clicked(model->index(200)); // not kept: the heatmap stays
        QCOMPARE(activated.at(1).at(1).toInt(), -1);
        QCOMPARE(window_->heatmapView()->keptImage(), 2);
    }

    void browserChoosesTheHeatmapImages()
    {
        DatasetBrowser *browser = window_->datasetBrowser();
        DatasetListModel *model = browser->model();
        HeatmapView *heatmap = window_->heatmapView();
        QCOMPARE(model->rowCount(), 256);
        for (int s = 0; s < doc()->siteCount(); ++s)
            if (doc()->sites()[std::size_t(s)].shape.size() == 3 && doc()->siteExecuted(s)) {
                doc()->setSelectedSite(s);
                break;
            }
        QVERIFY(doc()->selectedSite() >= 0);
        auto *selection = browser->view()->selectionModel();
        selection->clearSelection();
        QVERIFY(!browser->useForHeatmapsButton()->isEnabled());
        QVERIFY(!browser->useForHeatmapsAction()->isEnabled());

        // Two images far from the first six, selected out of order.
        const std::size_t a = doc()->indices()[40], b = doc()->indices()[200];
        selection->select(model->index(200), QItemSelectionModel::Select);
        selection->select(model->index(40), QItemSelectionModel::Select);
        QVERIFY(browser->useForHeatmapsButton()->isEnabled());
        QTest::mouseClick(browser->useForHeatmapsButton(), Qt::LeftButton);
        const std::vector<std::size_t> chosen{a, b};
        QVERIFY(doc()->keptIndices() == chosen);
        QVERIFY(doc()->projectToSave().heatmapImages == chosen); // saved with the project
        QVERIFY(doc()->isModified());
        doc()->waitForIdle();
        QVERIFY2(errors_.isEmpty(), qPrintable(errors_.join(QLatin1Char('\n'))));
        // Both captures ran again and kept exactly those images.
        for (const auto &snap : {doc()->baseline(), doc()->current()}) {
            QVERIFY(snap);
            QCOMPARE(snap->result.kept.size(), std::size_t(2));
            QCOMPARE(snap->result.kept[0].datasetIndex, a);
            QCOMPARE(snap->result.kept[1].datasetIndex, b);
        }
        // The Feature Maps view offers them and draws the chosen image's own pixels and maps.
        for (int k = 0; k < 2; ++k) {
            heatmap->setKeptImage(k);
            QCOMPARE(heatmap->keptImage(), k);
            QCOMPARE(heatmap->shownDatasetIndex(), (long long)chosen[std::size_t(k)]);
            const RawImage raw = doc()->dataset()->image(chosen[std::size_t(k)]);
            const auto shown = heatmap->shownInput();
            QCOMPARE(raw.channels, 1);
            QCOMPARE(shown.size(), raw.pixels.size());
            for (std::size_t p = 0; p < shown.size(); ++p)
                QCOMPARE(shown[p], float(raw.pixels[p]));
            QVERIFY(heatmap->shownZeroFraction() >= 0.0);
        }
        // Clicking one of them in the browser shows it there.
        Q_EMIT browser->view()->clicked(model->index(200));
        QCOMPARE(heatmap->shownDatasetIndex(), (long long)b);

        // The context menu's action does the same with the selection it is given.
        selection->clearSelection();
        selection->select(model->index(7), QItemSelectionModel::Select);
        QVERIFY(browser->useForHeatmapsAction()->isEnabled());
        browser->useForHeatmapsAction()->trigger();
        QVERIFY(doc()->keptIndices() == std::vector<std::size_t>{doc()->indices()[7]});
        doc()->waitForIdle();
        QCOMPARE(doc()->baseline()->result.kept.size(), std::size_t(1));

        // An empty choice returns to the first images of the subset.
        doc()->setKeptIndices({});
        QCOMPARE(doc()->keptIndices().size(), Session::kMaxKeptImages);
        QVERIFY(doc()->projectToSave().heatmapImages.empty());
        doc()->waitForIdle();
        QCOMPARE(doc()->baseline()->result.kept.size(), Session::kMaxKeptImages);
    }

    void recipeEditorIsBoundToTheProject()
    {
        const Recipe r = shortRecipe();
        panel()->setRecipe(r);
        QCOMPARE(doc()->recipe().toJson(), r.toJson());
        QCOMPARE(Recipe::fromJson(QJsonDocument(doc()->projectToSave().recipe).toJson().toStdString(), "project").toJson(),
                 r.toJson());
        QVERIFY(doc()->isModified());
        QCOMPARE(panel()->recipe().toJson(), r.toJson());
        // An edit in the form reaches the project's recipe.
        auto *lambda = panel()->findChild<QDoubleSpinBox *>(QStringLiteral("lambda"));
        QVERIFY(lambda);
        lambda->setValue(3.5);
        QCOMPARE(doc()->recipe().lambda, 3.5);
        lambda->setValue(r.lambda);
        QCOMPARE(doc()->recipe().toJson(), r.toJson());
        auto *perChannel = panel()->findChild<QCheckBox *>(QStringLiteral("perChannel"));
        QVERIFY(perChannel);
        QCOMPARE(perChannel->isChecked(), r.perChannelThresholds);
        perChannel->setChecked(!r.perChannelThresholds);
        QCOMPARE(doc()->recipe().perChannelThresholds, !r.perChannelThresholds);
        perChannel->setChecked(r.perChannelThresholds);
        QCOMPARE(doc()->recipe().toJson(), r.toJson());
        // Penalty weighting and search strategy; the greedy search sets one threshold per site, so it turns
        // per-channel thresholds off in the recipe and disables the box.
        auto *bandPerChannel = panel()->findChild<QCheckBox *>(QStringLiteral("bandPerChannel"));
        QVERIFY(bandPerChannel);
        bandPerChannel->setChecked(true);
        QVERIFY(doc()->recipe().bandPerChannel);
        auto *constantShare = panel()->findChild<QDoubleSpinBox *>(QStringLiteral("constantShare"));
        QVERIFY(constantShare);
        QCOMPARE(constantShare->value(), r.constantShare);
        constantShare->setValue(0.2);
        QCOMPARE(doc()->recipe().constantShare, 0.2);
        // The threshold ramp reaches the recipe and cannot outlast the fine-tune.
        auto *ramp = panel()->findChild<QDoubleSpinBox *>(QStringLiteral("ramp"));
        auto *finetuneEpochs = panel()->findChild<QSpinBox *>(QStringLiteral("finetuneEpochs"));
        QVERIFY(ramp && finetuneEpochs);
        QCOMPARE(ramp->value(), r.rampEpochs);
        finetuneEpochs->setValue(2);
        ramp->setValue(0.5);
        QCOMPARE(doc()->recipe().rampEpochs, 0.5);
        ramp->setValue(7.0);
        QCOMPARE(doc()->recipe().rampEpochs, 2.0);
        finetuneEpochs->setValue(1);
        QCOMPARE(doc()->recipe().rampEpochs, 1.0);
        auto *weighting = panel()->findChild<QComboBox *>(QStringLiteral("weighting"));
        auto *strategy = panel()->findChild<QComboBox *>(QStringLiteral("strategy"));
        QVERIFY(weighting && strategy);
        weighting->setCurrentIndex(weighting->findData(int(Recipe::PenaltyWeighting::PerActivation)));
        QCOMPARE(doc()->recipe().penaltyWeighting, Recipe::PenaltyWeighting::PerActivation);
        perChannel->setChecked(true);
        QVERIFY(doc()->recipe().perChannelThresholds);
        strategy->setCurrentIndex(strategy->findData(int(SearchOptions::Strategy::Greedy)));
        QCOMPARE(doc()->recipe().searchStrategy, SearchOptions::Strategy::Greedy);
        QVERIFY(!doc()->recipe().perChannelThresholds);
        QVERIFY(!perChannel->isEnabled());
        panel()->setRecipe(r);
        QCOMPARE(doc()->recipe().toJson(), r.toJson());
        QCOMPARE(perChannel->isEnabled(), r.thresholdMode == Recipe::ThresholdMode::Search);
        // Learned thresholds: one per site and no ramp, so the project's recipe stays one the file format accepts.
        auto *learn = panel()->findChild<QCheckBox *>(QStringLiteral("learnThresholds"));
        auto *pressure = panel()->findChild<QDoubleSpinBox *>(QStringLiteral("sparsityWeight"));
        QVERIFY(learn && pressure);
        QVERIFY(!pressure->isEnabled());
        finetuneEpochs->setValue(2);
        ramp->setValue(1.0);
        perChannel->setChecked(true);
        learn->setChecked(true);
        QVERIFY(pressure->isEnabled() && !ramp->isEnabled() && !perChannel->isEnabled());
        pressure->setValue(0.2);
        const Recipe learning = doc()->recipe();
        QVERIFY(learning.learnThresholds);
        QCOMPARE(learning.sparsityWeight, 0.2);
        QCOMPARE(learning.rampEpochs, 0.0);
        QVERIFY(!learning.perChannelThresholds);
        QCOMPARE(Recipe::fromJson(learning.toJson(), "project").toJson(), learning.toJson());
        const QString shots = QCoreApplication::applicationDirPath() + QStringLiteral("/screenshots");
        QVERIFY(QDir().mkpath(shots));
        auto *form = panel()->findChild<QScrollArea *>();
        QVERIFY(form && form->widget());
        QVERIFY(form->widget()->grab().save(shots + QStringLiteral("/training-panel-learning.png"))); // to be looked at
        panel()->setRecipe(r);
        QCOMPARE(doc()->recipe().toJson(), r.toJson());
        QVERIFY(!learn->isChecked() && ramp->isEnabled());
    }

    void cancelStartAgainAndResume()
    {
        ReportSpy finished(doc()->jobs(), {JobKind::Training});
        const int undoBefore = doc()->undoStack()->count();
        const auto thresholdsBefore = doc()->thresholds();

        // 1. Cancelled in its first step, after refusing to close the window meanwhile.
        bool askedToClose = false;
        window_->setCloseDuringTrainingAnswer([&askedToClose] {
            askedToClose = true;
            return false; // "No": keep training
        });
        auto once = std::make_shared<QMetaObject::Connection>();
        *once = connect(doc(), &Session::trainingStep, this, [this, once] {
            disconnect(*once);
            QVERIFY(!window_->close());
            QVERIFY(window_->isVisible());
            QVERIFY(doc()->isTraining());
            QTest::mouseClick(panel()->cancelButton(), Qt::LeftButton);
        });
        QVERIFY(panel()->startButton()->isEnabled());
        QTest::mouseClick(panel()->startButton(), Qt::LeftButton);
        QVERIFY(doc()->isTraining());
        QVERIFY(!panel()->startButton()->isEnabled());
        QVERIFY(panel()->cancelButton()->isEnabled());
        QVERIFY(!waitForTraining(finished));
        QVERIFY(askedToClose);
        QVERIFY(!doc()->isTraining());
        QVERIFY(!doc()->isTuned());
        QCOMPARE(doc()->undoStack()->count(), undoBefore);
        QVERIFY(doc()->thresholds() == thresholdsBefore);
        QVERIFY(panel()->stepsPlotted() >= 1);
        QVERIFY2(panel()->statusText().contains(QStringLiteral("Cancelled")), qPrintable(panel()->statusText()));
        QVERIFY(!panel()->resumeButton()->isEnabled()); // no epoch finished: nothing to resume from
        const QString checkpoints = panel()->checkpointDir();
        QVERIFY(!checkpoints.isEmpty());

        // 2. A full run: curves, an epoch, a checkpoint, the tuned state applied as one undo step.
        finished.clear();
        QTest::mouseClick(panel()->startButton(), Qt::LeftButton);
        QVERIFY(waitForTraining(finished));
        QVERIFY2(errors_.isEmpty(), qPrintable(errors_.join(QLatin1Char('\n'))));
        QCOMPARE(panel()->epochsPlotted(), 1);
        QVERIFY(panel()->stepsPlotted() >= 8); // 256 images in batches of 32
        QVERIFY(doc()->isTuned());
        QCOMPARE(doc()->undoStack()->count(), undoBefore + 1);
        const auto run = doc()->lastTraining();
        QVERIFY(run && !run->result.cancelled);
        QCOMPARE(run->result.epochsDone, 1);
        QVERIFY(!QDir(checkpoints).isEmpty());
        QVERIFY(panel()->resumeButton()->isEnabled());
        const auto tuned = doc()->thresholds();
        QVERIFY(tuned == run->result.thresholds);
        QVERIFY(tuned != thresholdsBefore);
        QVERIFY(doc()->currentIsExact()); // the new current capture ran with the tuned model
        QVERIFY(doc()->current() != doc()->baseline());
        // Undo returns to the model and thresholds from before; redo brings the tuned state back.
        doc()->undoStack()->undo();
        QVERIFY(!doc()->isTuned());
        QVERIFY(doc()->thresholds() == thresholdsBefore);
        doc()->undoStack()->redo();
        QVERIFY(doc()->isTuned());
        QVERIFY(doc()->thresholds() == tuned);
        doc()->waitForIdle();

        // 3. Resume from the checkpoint of that run: the same thresholds as the uninterrupted run.
        finished.clear();
        QTest::mouseClick(panel()->resumeButton(), Qt::LeftButton);
        QVERIFY(waitForTraining(finished));
        QVERIFY(doc()->lastTraining() != run);
        QCOMPARE(doc()->lastTraining()->result.epochsDone, 1);
        QVERIFY(doc()->lastTraining()->result.thresholds == run->result.thresholds);
        QCOMPARE(doc()->undoStack()->count(), undoBefore + 2);
    }

    void pauseHoldsTheStepsAndContinueFinishes()
    {
        // More steps than the short recipe, so the pause lands well inside the epoch.
        Recipe longer = shortRecipe();
        longer.trainImages = 1024;
        panel()->setRecipe(longer);
        ReportSpy finished(doc()->jobs(), {JobKind::Training});
        QVERIFY(!panel()->pauseButton()->isEnabled());
        auto pauseAtFirstStep = [this] {
            auto once = std::make_shared<QMetaObject::Connection>();
            *once = connect(doc(), &Session::trainingStep, this, [this, once] {
                disconnect(*once);
                QTest::mouseClick(panel()->pauseButton(), Qt::LeftButton);
            });
        };
        // Holds still while paused (and costs no CPU), then stops when cancelled while paused.
        auto holdsStill = [this] {
            QTRY_VERIFY_WITH_TIMEOUT(doc()->isTrainingPaused(), 60000);
            QCOMPARE(panel()->pauseButton()->text(), QStringLiteral("Continue"));
            QVERIFY2(panel()->statusText().contains(QStringLiteral("paused")), qPrintable(panel()->statusText()));
            // A step under way when the button was clicked still arrives: wait until the count settles (on a busy
            // machine one step can take a while). A run that did not pause would finish meanwhile and fail below.
            int steps = panel()->stepsPlotted();
            for (int settle = 0; settle < 5; ++settle) {
                QTest::qWait(250);
                if (panel()->stepsPlotted() == steps)
                    break;
                steps = panel()->stepsPlotted();
            }
            const std::clock_t cpuBefore = std::clock();
            QElapsedTimer wall;
            wall.start();
            QTest::qWait(600);
            const double cpu = double(std::clock() - cpuBefore) / CLOCKS_PER_SEC;
            QCOMPARE(panel()->stepsPlotted(), steps);
            QVERIFY(steps < 32);
            QVERIFY(doc()->isTraining());
            QVERIFY2(cpu < 0.5 * double(wall.elapsed()) / 1000.0, qPrintable(QString::number(cpu)));
        };

        pauseAtFirstStep();
        QTest::mouseClick(panel()->startButton(), Qt::LeftButton);
        QVERIFY(panel()->pauseButton()->isEnabled());
        QCOMPARE(panel()->pauseButton()->text(), QStringLiteral("Pause"));
        holdsStill();
        if (QTest::currentTestFailed())
            return;
        QElapsedTimer stopping;
        stopping.start();
        QTest::mouseClick(panel()->cancelButton(), Qt::LeftButton);
        QVERIFY(!waitForTraining(finished));
        QVERIFY2(stopping.elapsed() < 5000, qPrintable(QString::number(stopping.elapsed())));
        QVERIFY(!doc()->isTrainingPaused());
        QCOMPARE(panel()->pauseButton()->text(), QStringLiteral("Pause"));
        QVERIFY(!panel()->pauseButton()->isEnabled());

        // Paused, continued: the run goes on from where it stopped and its result is applied.
        finished.clear();
        const int undoBefore = doc()->undoStack()->count();
        pauseAtFirstStep();
        QTest::mouseClick(panel()->startButton(), Qt::LeftButton);
        holdsStill();
        if (QTest::currentTestFailed())
            return;
        QTest::mouseClick(panel()->pauseButton(), Qt::LeftButton);
        QVERIFY(!doc()->isTrainingPaused());
        QCOMPARE(panel()->pauseButton()->text(), QStringLiteral("Pause"));
        QVERIFY(waitForTraining(finished));
        QCOMPARE(panel()->stepsPlotted(), 32); // 1024 images in batches of 32, none skipped or repeated
        QCOMPARE(doc()->undoStack()->count(), undoBefore + 1);
        QVERIFY(doc()->isTuned());
        panel()->setRecipe(shortRecipe());
    }

    void exportWritesALoadableModel()
    {
        QVERIFY(doc()->isTuned());
        doc()->waitForIdle();
        ExportDialog dialog(doc(), window_.get(), [this] { return window_->exportablePlots(); });
        QVERIFY(dialog.plotsBox()->isChecked()); // plots are written unless the user opts out

        // The input model is refused and left alone.
        const QString input = doc()->project().modelPath;
        const QByteArray inputBytes = [&] {
            QFile f(input);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        }();
        QVERIFY(!inputBytes.isEmpty());
        dialog.setPath(input);
        QString error;
        QVERIFY(!dialog.exportNow(&error));
        QVERIFY2(error.contains(QStringLiteral("input model")), qPrintable(error));
        QFile again(input);
        QVERIFY(again.open(QIODevice::ReadOnly));
        QCOMPARE(again.readAll(), inputBytes);

        const QString out = dir_.filePath(QStringLiteral("tuned.pt"));
        dialog.setPath(out);
        QVERIFY2(dialog.exportNow(&error), qPrintable(error));
        const QStringList written = dialog.writtenFiles();
        const auto plots = dialog.writtenPlots();
        const auto shown = window_->exportablePlots();
        QCOMPARE(plots.size(), shown.size());
        QCOMPARE(shown.size(), std::size_t(5)); // the four views and the training curves of the runs above
        QCOMPARE(written.size(), 3 + 2 * int(plots.size()));
        for (const QString &f : written) {
            QVERIFY2(QFileInfo(f).size() > 0, qPrintable(f));
            QVERIFY(dialog.resultText().contains(QDir::toNativeSeparators(f).toHtmlEscaped()));
        }
        for (std::size_t i = 0; i < plots.size(); ++i) {
            QCOMPARE(plots[i].png, dir_.filePath(QStringLiteral("tuned-%1.png").arg(shown[i].name)));
            QCOMPARE(plots[i].pdf, dir_.filePath(QStringLiteral("tuned-%1.pdf").arg(shown[i].name)));
            QVERIFY(written.contains(plots[i].png) && written.contains(plots[i].pdf));
            const QImage image(plots[i].png);
            QVERIFY2(!image.isNull(), qPrintable(plots[i].png));
            QCOMPARE(image.size(), plots[i].size);
            if (const QWidget *w = asWidget(shown[i].plot); w->isVisible()) // hidden tabs: drawn at a fixed size
                QCOMPARE(plots[i].size, w->size());
            QFile pdf(plots[i].pdf);
            QVERIFY(pdf.open(QIODevice::ReadOnly));
            QVERIFY(pdf.read(5) == "%PDF-");
        }
        QCOMPARE(QDir(dir_.path()).entryList({QStringLiteral("*.partial")}, QDir::Files), QStringList());
        {
            // Opting out writes the three files alone.
            ExportDialog plain(doc(), window_.get(), [this] { return window_->exportablePlots(); });
            plain.plotsBox()->setChecked(false);
            plain.setPath(dir_.filePath(QStringLiteral("plain.pt")));
            QVERIFY2(plain.exportNow(&error), qPrintable(error));
            QCOMPARE(plain.writtenFiles().size(), 3);
            QVERIFY(!QFile::exists(dir_.filePath(QStringLiteral("plain-histogram.png"))));
        }
        QCOMPARE(written[1], dir_.filePath(QStringLiteral("tuned.json")));
        QCOMPARE(written[2], dir_.filePath(QStringLiteral("tuned.csv")));

        QFile json(written[1]);
        QVERIFY(json.open(QIODevice::ReadOnly));
        const QJsonObject report = QJsonDocument::fromJson(json.readAll()).object();
        QCOMPARE(report.value(QStringLiteral("command")).toString(), QStringLiteral("export"));
        QVERIFY(report.value(QStringLiteral("training")).isObject());
        QVERIFY(report.value(QStringLiteral("evaluation")).isObject());
        QFile csv(written[2]);
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QVERIFY(csv.readLine().contains("threshold"));

        // The export loads and computes what the tuned model computes with its thresholds.
        auto loaded = Model::load(out.toStdString());
        QVERIFY(loaded->metadata().json.find("tuning") != std::string::npos);
        const auto batches = loadBatches(*doc()->dataset(), doc()->preprocessing(),
                                         std::vector<std::size_t>(doc()->indices().begin(), doc()->indices().begin() + 16), 16);
        QCOMPARE(batches.size(), std::size_t(1));
        const auto tunedModel = doc()->currentModel();
        tunedModel->setThresholds(doc()->thresholds());
        const auto expected = forwardOutput(*tunedModel, batches[0], true);
        const auto got = forwardOutput(*loaded, batches[0], false);
        QCOMPARE(got.size(), expected.size());
        double worst = 0.0;
        for (std::size_t i = 0; i < got.size(); ++i)
            worst = std::max(worst, double(std::abs(got[i] - expected[i])));
        QVERIFY2(worst < 1e-4, qPrintable(QString::number(worst)));
    }

    void compareMethodsAndMakeARowCurrent()
    {
        ComparisonDialog *dialog = window_->comparisonDialog();
        dialog->show();
        QCOMPARE(dialog->table()->rowCount(), 0);
        ReportSpy finished(doc()->jobs(), {JobKind::Comparison});
        QVERIFY(dialog->runButton()->isEnabled());
        QTest::mouseClick(dialog->runButton(), Qt::LeftButton);
        QVERIFY(doc()->isTraining());
        QVERIFY(dialog->cancelButton()->isEnabled());
        QVERIFY(finished.wait(120000));
        QVERIFY2(finished.last().outcome == JobReport::Outcome::Done, qPrintable(finished.last().summary));
        doc()->waitForIdle();
        const auto outcome = doc()->lastComparison();
        QVERIFY(outcome);
        const auto &rows = outcome->comparison.methods;
        QCOMPARE(rows.size(), std::size_t(4));
        QCOMPARE(outcome->models.size(), rows.size());
        QCOMPARE(dialog->table()->rowCount(), 4);
        QCOMPARE(dialog->pointsPlotted(), 4);
        int starRow = -1;
        for (int r = 0; r < 4; ++r) {
            QCOMPARE(dialog->table()->item(r, 0)->text(), QString::fromUtf8(methodName(rows[std::size_t(r)].method)));
            QCOMPARE(dialog->table()->item(r, 1)->text(), QString::number(rows[std::size_t(r)].top1, 'f', 2));
            if (rows[std::size_t(r)].method == Recipe::Method::Star)
                starRow = r;
        }
        QVERIFY(starRow >= 0);
        QVERIFY(dialog->csv().split(QLatin1Char('\n'), Qt::SkipEmptyParts).size() == 5);

        // The processor projection per method: table columns and the latency and energy charts.
        QCOMPARE(dialog->table()->columnCount(), 8);
        int reluRow = -1;
        for (int r = 0; r < 4; ++r) {
            QVERIFY(dialog->projectedLatency(r) > 0.0);
            QVERIFY(dialog->projectedEnergy(r) > 0.0);
            QCOMPARE(dialog->table()->item(r, 6)->text(), QString::number(dialog->projectedLatency(r) * 1e6, 'f', 2));
            QCOMPARE(dialog->table()->item(r, 7)->text(), QString::number(dialog->projectedEnergy(r) * 1e6, 'f', 3));
            if (rows[std::size_t(r)].method == Recipe::Method::Relu)
                reluRow = r;
        }
        QVERIFY(reluRow >= 0);
        for (int chart = 1; chart < ComparisonDialog::kCharts; ++chart)
            QCOMPARE(dialog->pointsPlotted(chart), 4);
        // Thresholded methods remove events, so the projection is faster and cheaper than plain ReLU fine-tuning.
        for (int r = 0; r < 4; ++r) {
            const auto method = rows[std::size_t(r)].method;
            if (method != Recipe::Method::Star && method != Recipe::Method::ThresholdOnly)
                continue;
            QVERIFY2(dialog->projectedLatency(r) < dialog->projectedLatency(reluRow),
                     qPrintable(QStringLiteral("%1: %2 vs ReLU %3")
                                    .arg(QString::fromUtf8(methodName(method)))
                                    .arg(dialog->projectedLatency(r))
                                    .arg(dialog->projectedLatency(reluRow))));
            QVERIFY(dialog->projectedEnergy(r) < dialog->projectedEnergy(reluRow));
        }

        // Make the STAR row the current state: one undo step, the row's model and thresholds.
        const int undoBefore = doc()->undoStack()->count();
        const auto thresholdsBefore = doc()->thresholds();
        QVERIFY(!dialog->applyButton()->isEnabled());
        dialog->table()->selectRow(starRow);
        QVERIFY(dialog->applyButton()->isEnabled());
        QTest::mouseClick(dialog->applyButton(), Qt::LeftButton);
        QCOMPARE(doc()->undoStack()->count(), undoBefore + 1);
        QVERIFY(doc()->currentModel() == outcome->models[std::size_t(starRow)]);
        QVERIFY(doc()->thresholds() == rows[std::size_t(starRow)].thresholds);
        doc()->waitForIdle();
        QVERIFY(doc()->currentIsExact());
        // The current capture of that model on the project's images agrees with the comparison's evaluation.
        QCOMPARE(doc()->current()->result.top1(), rows[std::size_t(starRow)].top1);
        // ... and the hardware view projects what the comparison projected for that row.
        QVERIFY(doc()->hasProjection());
        const double projected = dialog->projectedLatency(starRow);
        QVERIFY2(std::abs(doc()->currentEvaluation().latencySeconds - projected) <= 1e-9 * projected,
                 qPrintable(QStringLiteral("%1 vs %2").arg(doc()->currentEvaluation().latencySeconds).arg(projected)));
        doc()->undoStack()->undo();
        QVERIFY(doc()->thresholds() == thresholdsBefore);
        dialog->hide();
    }

    void aBrokenCheckpointIsReportedAndChangesNothing()
    {
        const QDir checkpoints(panel()->checkpointDir());
        const QStringList files = checkpoints.entryList(QDir::Files);
        QCOMPARE(files.size(), 1);
        QFile f(checkpoints.filePath(files[0]));
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write("not a checkpoint");
        f.close();
        errors_.clear();
        const int undoBefore = doc()->undoStack()->count();
        const auto thresholdsBefore = doc()->thresholds();
        ReportSpy finished(doc()->jobs(), {JobKind::Training});
        QVERIFY(panel()->resumeButton()->isEnabled());
        QTest::mouseClick(panel()->resumeButton(), Qt::LeftButton);
        QVERIFY(!waitForTraining(finished));
        QCOMPARE(errors_.size(), 1);
        QVERIFY2(errors_[0].contains(files[0]), qPrintable(errors_[0]));
        QVERIFY(panel()->statusText().contains(QStringLiteral("failed")));
        QCOMPARE(doc()->undoStack()->count(), undoBefore);
        QVERIFY(doc()->thresholds() == thresholdsBefore);
        QVERIFY(panel()->startButton()->isEnabled());
    }

    void savedProjectKeepsTheTunedWeights()
    {
        QVERIFY(doc()->isTuned());
        errors_.clear(); // the broken checkpoint above was reported on purpose
        doc()->waitForIdle();
        doc()->setKeptIndices({doc()->indices()[9], doc()->indices()[3]});
        doc()->waitForIdle();
        const QString path = dir_.filePath(QStringLiteral("tuned.sparsity.json"));
        QVERIFY(window_->saveProjectTo(path));
        QVERIFY2(errors_.isEmpty(), qPrintable(errors_.join(QLatin1Char('\n'))));
        QVERIFY(!doc()->isModified());
        const Project saved = loadProject(path);
        const QString weights = saved.weightsPath;
        QVERIFY2(QFileInfo(weights).fileName().startsWith(QStringLiteral("tuned.weights-")), qPrintable(weights));
        QCOMPARE(QFileInfo(weights).absolutePath(), QFileInfo(path).absolutePath());
        QVERIFY(QFileInfo(weights).size() > 0);

        QCOMPARE(saved.modelPath, doc()->project().modelPath); // the input model is referenced, never replaced

        const auto batches = loadBatches(*doc()->dataset(), doc()->preprocessing(),
                                         std::vector<std::size_t>(doc()->indices().begin(), doc()->indices().begin() + 16), 16);
        doc()->currentModel()->setThresholds(doc()->thresholds());
        const auto expected = forwardOutput(*doc()->currentModel(), batches[0], true);

        // Reopened in a document of its own: the tuned state is current, the baseline is the model as loaded.
        Session reopened;
        reopened.openProject(saved, path);
        reopened.waitForIdle();
        QVERIFY(reopened.isTuned());
        QVERIFY(reopened.thresholds() == doc()->thresholds());
        QVERIFY(reopened.keptIndices() == (std::vector<std::size_t>{doc()->indices()[3], doc()->indices()[9]}));
        reopened.currentModel()->setThresholds(reopened.thresholds());
        const auto got = forwardOutput(*reopened.currentModel(), batches[0], true);
        QCOMPARE(got.size(), expected.size());
        QVERIFY(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)) == 0);
        QVERIFY(reopened.current() && reopened.current() != reopened.baseline());
        QCOMPARE(reopened.current()->result.top1(), doc()->current()->result.top1());
        QCOMPARE(reopened.baseline()->result.top1(), doc()->baseline()->result.top1());

        // Saving again writes the weights under a new name before replacing the project, then removes the old file:
        // an interrupted save leaves the previous project and its weights as they were.
        QVERIFY(window_->saveProjectTo(path));
        const QString second = loadProject(path).weightsPath;
        QVERIFY(second != weights && QFileInfo(second).size() > 0);
        QVERIFY(!QFileInfo::exists(weights));

        // Undoing the fine-tunings (several runs above) and saving again drops the reference (and the file): the
        // project opens untuned.
        QUndoStack *stack = doc()->undoStack();
        const int index = stack->index();
        while (doc()->isTuned() && stack->canUndo())
            stack->undo();
        QVERIFY(!doc()->isTuned());
        QVERIFY(window_->saveProjectTo(path));
        QVERIFY(loadProject(path).weightsPath.isEmpty());
        QVERIFY(!QFileInfo::exists(second));
        stack->setIndex(index);
        QVERIFY(doc()->isTuned());
        doc()->waitForIdle();

        // A file that is not a weights file (a TorchScript model) is refused with its name, and the document stays as
        // it was.
        QFile::remove(weights);
        QVERIFY(QFile::copy(QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/models/sample-mobilenetv2.pt"), weights));
        Project foreign = saved;
        try {
            reopened.openProject(foreign, path);
            QFAIL("a foreign weights file was accepted");
        } catch (const std::exception &e) {
            QVERIFY2(QString::fromStdString(e.what()).contains(QFileInfo(weights).fileName()), e.what());
        }
        QVERIFY(reopened.isTuned());
    }

    void cleanupTestCase()
    {
        tester_.reset();
        window_.reset();
    }
};

QTEST_MAIN(TestTrainingPanel)
#include "tst_training_panel.moc"
