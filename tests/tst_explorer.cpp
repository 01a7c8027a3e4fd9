// The explorer driven through its real widgets on the offscreen platform, with the sample project on a 256-image
// subset: baseline capture, threshold edits in the table and by dragging the histogram line, undo/redo, latest
// result wins, cancel, save and reopen. Every item model is wrapped in QAbstractItemModelTester.
#include "session.h"
#include "sessionspies.h"
#include "error.h"
#include "hardwareview.h"
#include "heatmapview.h"
#include "histogramview.h"
#include "layersview.h"
#include "layertablemodel.h"
#include "mainwindow.h"
#include "recoverycopy.h"
#include "overviewview.h"
#include "plotutil.h"
#include "io/project.h"
#include "graph/site.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFile>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>

#include <algorithm>
#include <memory>

using namespace sparsity;
using namespace sparsity::ui;

class TestExplorer : public QObject {
    Q_OBJECT

    std::unique_ptr<MainWindow> window_;
    std::unique_ptr<QAbstractItemModelTester> sourceTester_, proxyTester_;
    QStringList errors_;

    Session *doc() const { return window_->document(); }
    LayerTableModel *table() const { return window_->layersView()->sourceModel(); }

    // The n-th site that can be tuned and ran.
    int tunableSite(int n) const
    {
        for (int s = 0; s < doc()->siteCount(); ++s)
            if (doc()->sites()[std::size_t(s)].sparsifiable && doc()->siteExecuted(s) && n-- == 0)
                return s;
        return -1;
    }
    QModelIndex proxyIndex(int site, int column) const
    {
        return window_->layersView()->proxyModel()->mapFromSource(table()->index(site, column));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        window_ = std::make_unique<MainWindow>();
        window_->setErrorSink([this](const QString &m) { errors_ << m; });
        window_->setRecoveryAnswer([](const QString &) { return false; }); // a copy left by an earlier run: not wanted here
        sourceTester_ = std::make_unique<QAbstractItemModelTester>(table(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        proxyTester_ = std::make_unique<QAbstractItemModelTester>(window_->layersView()->proxyModel(),
                                                                  QAbstractItemModelTester::FailureReportingMode::QtTest);
        window_->resize(1600, 1000);
        window_->show();
        Project p = sampleProject();
        p.subset.count = 256;
        QVERIFY(window_->openProject(p, QString()));
        QVERIFY(doc()->isBusy()); // the baseline capture started by itself
        doc()->waitForIdle();
        QVERIFY2(errors_.isEmpty(), qPrintable(errors_.join(QLatin1Char('\n'))));
    }

    void baselineFillsEveryView()
    {
        QVERIFY(doc()->baseline());
        QVERIFY(doc()->currentIsExact()); // no thresholds yet: current is the baseline
        QCOMPARE(doc()->baseline()->result.images, 256);
        QVERIFY(doc()->baseline()->result.top1() > 60.0);
        QCOMPARE(table()->rowCount(), doc()->siteCount());
        int executed = 0;
        for (int s = 0; s < doc()->siteCount(); ++s)
            executed += doc()->siteExecuted(s) ? 1 : 0;
        QCOMPARE(window_->layersView()->proxyModel()->rowCount(), executed);
        const int s = tunableSite(0);
        QVERIFY(s >= 0);
        const QString cell = table()->index(s, LayerTableModel::Baseline).data().toString();
        QVERIFY2(cell.endsWith(QStringLiteral("%")), qPrintable(cell));
        QCOMPARE(table()->index(s, LayerTableModel::Baseline).data(LayerTableModel::FractionRole).toDouble(),
                 doc()->baseline()->result.sites[std::size_t(s)].sparsity());
        QVERIFY(doc()->hasProjection());
        QVERIFY(table()->index(s, LayerTableModel::LatencyShare).data(LayerTableModel::FractionRole).toDouble() >= 0.0);
        QVERIFY(window_->overviewView()->summaryText().contains(QStringLiteral("top-1")));
        QVERIFY(window_->hardwareView()->totalsText().contains(QStringLiteral("FPS")));
        QVERIFY(!doc()->isModified());
    }

    void denseSitesAreGreyedWithTheirReason()
    {
        for (int s = 0; s < doc()->siteCount(); ++s) {
            const Site &site = doc()->sites()[std::size_t(s)];
            const QModelIndex i = table()->index(s, LayerTableModel::Threshold);
            QCOMPARE(bool(table()->flags(i) & Qt::ItemIsEditable), site.sparsifiable);
            if (!site.sparsifiable) {
                QVERIFY(i.data(Qt::ForegroundRole).isValid());
                QVERIFY(i.data(Qt::ToolTipRole).toString().contains(QString::fromStdString(site.denseReason)));
            }
        }
    }

    void filterByName()
    {
        const int s = tunableSite(1);
        const QString name = QString::fromStdString(doc()->sites()[std::size_t(s)].name);
        auto *proxy = window_->layersView()->proxyModel();
        proxy->setFilterFixedString(name);
        QVERIFY(proxy->rowCount() >= 1);
        for (int r = 0; r < proxy->rowCount(); ++r)
            QVERIFY(proxy->index(r, 0).data().toString().contains(name));
        proxy->setFilterFixedString(QString());
    }

    void editThresholdInTheTable()
    {
        const int s = tunableSite(0);
        QTableView *view = window_->layersView()->table();
        const QModelIndex index = proxyIndex(s, LayerTableModel::Threshold);
        view->setCurrentIndex(index);
        QCOMPARE(doc()->selectedSite(), s); // the row drives the other views
        view->edit(index);
        auto *editor = view->findChild<QDoubleSpinBox *>();
        QVERIFY(editor);
        editor->setValue(0.25);
        QTest::keyClick(editor, Qt::Key_Enter);
        QTRY_COMPARE(doc()->siteValue(SiteField::Threshold, s), double(0.25f)); // the delegate commits queued
        QCOMPARE(doc()->undoStack()->count(), 1);
        QVERIFY(doc()->isModified());
        QVERIFY(window_->isWindowModified());
        // At once: an estimate from the histogram, above the baseline.
        const QModelIndex current = table()->index(s, LayerTableModel::Current);
        QVERIFY(current.data(LayerTableModel::EstimateRole).toBool());
        QVERIFY(current.data().toString().startsWith(QStringLiteral("≈")));
        const double estimate = current.data(LayerTableModel::FractionRole).toDouble();
        QVERIFY(estimate > doc()->baselineSparsity(s));
        // Then the exact re-evaluation replaces it.
        doc()->waitForIdle();
        QVERIFY(doc()->currentIsExact());
        QVERIFY(!current.data(LayerTableModel::EstimateRole).toBool());
        const double exact = doc()->current()->result.sites[std::size_t(s)].sparsity();
        QCOMPARE(current.data(LayerTableModel::FractionRole).toDouble(), exact);
        // The site's own output: thresholding at 0.25 removes exactly what the estimate counted, to bin precision.
        QVERIFY2(std::abs(exact - estimate) < 0.02, qPrintable(QStringLiteral("%1 vs %2").arg(exact).arg(estimate)));
        // The projection follows: fewer events than the baseline.
        QVERIFY(doc()->currentEvaluation().events < doc()->baselineEvaluation().events);
    }

    void dragTheHistogramLine()
    {
        const int s = tunableSite(1);
        doc()->setSelectedSite(s);
        HistogramView *h = window_->histogramView();
        QWidget *plot = h->plotWidget();
        QTest::qWait(50); // the queued replot lays the plot out
        const int x0 = h->thresholdPixel();
        QVERIFY(x0 >= 0);
        const int y = h->plotArea().center().y();
        const int before = doc()->undoStack()->count();
        ChangeSpy thresholds(doc(), ChangeEvent::Kind::Thresholds);
        QTest::mousePress(plot, Qt::LeftButton, Qt::NoModifier, QPoint(x0, y));
        const int x1 = h->plotArea().left() + h->plotArea().width() * 4 / 5; // into the bulk of the values
        for (int x = x0 + 10; x <= x1; x += 20)
            QTest::mouseMove(plot, QPoint(x, y));
        QTest::mouseMove(plot, QPoint(x1, y));
        QTest::mouseRelease(plot, Qt::LeftButton, Qt::NoModifier, QPoint(x1, y));
        QVERIFY(thresholds.count() > 2);
        const double expected = h->valueAtPixel(x1);
        QVERIFY(std::abs(doc()->siteValue(SiteField::Threshold, s) - expected) < 1e-6 * std::max(1.0, expected) + 1e-6);
        QCOMPARE(doc()->undoStack()->count(), before + 1); // one drag, one undo step
        QVERIFY(table()->index(s, LayerTableModel::Current).data(LayerTableModel::EstimateRole).toBool());
        doc()->waitForIdle();
        QVERIFY(doc()->currentIsExact());
        QVERIFY(doc()->current()->result.sites[std::size_t(s)].sparsity() > doc()->baselineSparsity(s));
    }

    void undoAndRedo()
    {
        const int a = tunableSite(0), b = tunableSite(1);
        const double ta = doc()->siteValue(SiteField::Threshold, a), tb = doc()->siteValue(SiteField::Threshold, b);
        QVERIFY(ta > 0.0 && tb > 0.0);
        doc()->undoStack()->undo();
        QCOMPARE(doc()->siteValue(SiteField::Threshold, b), 0.0);
        QCOMPARE(doc()->siteValue(SiteField::Threshold, a), ta);
        doc()->undoStack()->undo();
        QCOMPARE(doc()->siteValue(SiteField::Threshold, a), 0.0);
        QVERIFY(!doc()->isModified()); // back to the saved state
        doc()->waitForIdle();
        QVERIFY(doc()->currentIsExact());
        QCOMPARE(doc()->current()->result.sites[std::size_t(a)].sparsity(), doc()->baselineSparsity(a));
        doc()->undoStack()->redo();
        doc()->undoStack()->redo();
        QCOMPARE(doc()->siteValue(SiteField::Threshold, a), ta);
        QCOMPARE(doc()->siteValue(SiteField::Threshold, b), tb);
        doc()->waitForIdle();
        QVERIFY(doc()->currentIsExact());
    }

    void scopeCheckboxIsUndoable()
    {
        const int s = tunableSite(2);
        const QModelIndex i = table()->index(s, LayerTableModel::Scope);
        QCOMPARE(i.data(Qt::CheckStateRole).toInt(), int(Qt::Unchecked));
        QVERIFY(table()->setData(i, int(Qt::Checked), Qt::CheckStateRole));
        QCOMPARE(i.data(Qt::CheckStateRole).toInt(), int(Qt::Checked));
        doc()->undoStack()->undo();
        QCOMPARE(i.data(Qt::CheckStateRole).toInt(), int(Qt::Unchecked));
        doc()->undoStack()->redo();
        QCOMPARE(doc()->siteValue(SiteField::Scope, s), 1.0);
    }

    void latestResultWins()
    {
        const int s = tunableSite(2);
        ChangeSpy current(doc(), ChangeEvent::Kind::Current);
        QSignalSpy started(doc()->jobs(), &JobTracker::started);
        doc()->pushSiteValue(SiteField::Threshold, s, 0.05);
        // The first re-evaluation is running now (waiting a fixed time raced with it: it can finish in ~0.1 s).
        QVERIFY(started.wait(5000));
        QVERIFY(doc()->isBusy());
        doc()->pushSiteValue(SiteField::Threshold, s, 0.4);
        doc()->waitForIdle();
        QVERIFY(doc()->currentIsExact());
        QCOMPARE(doc()->current()->thresholds[std::size_t(s)], 0.4f);
        QVERIFY(current.count() >= 1);
        QCOMPARE(doc()->current()->thresholds, doc()->thresholds());
    }

    void cancelStopsWithinASecond()
    {
        ReportSpy finished(doc()->jobs(), {JobKind::Baseline, JobKind::Current});
        QSignalSpy started(doc()->jobs(), &JobTracker::started);
        const auto baselineBefore = doc()->baseline();
        doc()->startBaselineCapture();
        // Cancel while it runs: a fixed wait raced with a capture that can now finish in ~0.1 s.
        QVERIFY(started.count() >= 1 || started.wait(5000));
        QVERIFY(doc()->isBusy());
        QElapsedTimer timer;
        timer.start();
        doc()->cancelJobs();
        doc()->waitForIdle();
        QVERIFY2(timer.elapsed() < 1000, qPrintable(QString::number(timer.elapsed())));
        QVERIFY(finished.count() >= 1);
        QVERIFY(finished.last().cancelled());
        QCOMPARE(doc()->baseline(), baselineBefore); // the cancelled run left no trace
    }

    void heatmapShowsBeforeAndAfter()
    {
        const int s = tunableSite(0);
        doc()->setSelectedSite(s);
        HeatmapView *h = window_->heatmapView();
        h->setChannel(0);
        const double after = h->shownZeroFraction();
        QVERIFY(after >= 0.0);
        auto *state = h->findChildren<QComboBox *>().last();
        state->setCurrentIndex(0);
        const double before = h->shownZeroFraction();
        QVERIFY(before >= 0.0);
        QVERIFY2(after >= before, qPrintable(QStringLiteral("%1 < %2").arg(after).arg(before)));
        state->setCurrentIndex(1);
        QVERIFY(h->csv().count(QLatin1Char('\n')) > 10);
    }

    void presetChangeUpdatesProjection()
    {
        auto *picker = window_->hardwareView()->presetPicker();
        QVERIFY(picker->count() >= 2);
        const double before = doc()->currentEvaluation().latencySeconds;
        ChangeSpy spy(doc(), ChangeEvent::Kind::Projection);
        picker->setCurrentIndex(picker->currentIndex() == 0 ? 1 : 0);
        QCOMPARE(spy.count(), 1);
        QVERIFY(doc()->currentEvaluation().latencySeconds != before);
        QVERIFY(window_->hardwareView()->csv().contains(QStringLiteral("baseline")));
    }

    void editedPresetBecomesAUserPreset()
    {
        HardwareView *hw = window_->hardwareView();
        const int builtIns = int(doc()->presets().size());
        QString error = hw->saveUserPreset("{\"format\": 1}");
        QVERIFY2(!error.isEmpty(), "an incomplete preset was accepted");
        ProcessorParams params = doc()->presets()[std::size_t(doc()->presetIndex())].params;
        params.name = "Test chip, twice the clock";
        params.clockHz *= 2.0;
        const double before = doc()->currentEvaluation().latencySeconds;
        error = hw->saveUserPreset(presetToJson(params));
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(int(doc()->presets().size()), builtIns + 1);
        QCOMPARE(doc()->presets()[std::size_t(doc()->presetIndex())].params.name, params.name);
        QCOMPARE(hw->presetPicker()->currentText(), QString::fromStdString(params.name));
        QVERIFY(doc()->currentEvaluation().latencySeconds < before);
        QVERIFY(QFile::remove(doc()->presets()[std::size_t(doc()->presetIndex())].path));
        doc()->reloadPresets();
        QCOMPARE(int(doc()->presets().size()), builtIns);
    }

    void shortCaptureRuns()
    {
        ChangeSpy baseline(doc(), ChangeEvent::Kind::Baseline);
        doc()->startBaselineCapture();
        doc()->waitForIdle();
        QCOMPARE(baseline.count(), 1);
        QCOMPARE(doc()->baseline()->result.images, 256);
        QVERIFY(doc()->currentIsExact()); // the thresholds were re-evaluated against the new baseline
    }

    void thresholdSearchIsOneUndoStep()
    {
        const std::vector<float> before = doc()->thresholds();
        const int steps = doc()->undoStack()->count();
        ReportSpy done(doc()->jobs(), {JobKind::Search});
        SearchOptions options;
        options.budgetPp = 3.0;
        options.stepsPerSite = 3;
        options.refine = false;
        doc()->startThresholdSearch(options, 64);
        doc()->waitForIdle();
        QCOMPARE(done.count(), 1);
        QVERIFY(done.reports[0].summary.contains(QStringLiteral("sparsity")));
        QCOMPARE(doc()->undoStack()->count(), steps + 1);
        QVERIFY(doc()->thresholds() != before);
        QVERIFY(doc()->currentIsExact()); // the result was re-evaluated on the whole subset
        doc()->undoStack()->undo();
        QCOMPARE(doc()->thresholds(), before);
        doc()->waitForIdle();
    }

    // A search over some sites keeps the per-channel thresholds of the others, as they were while it measured.
    void scopedSearchKeepsOtherSitesChannelThresholds()
    {
        const int kept = tunableSite(0), searched = tunableSite(1);
        const std::vector<float> channels(std::size_t(doc()->sites()[std::size_t(kept)].shape[0]), 0.2f);
        doc()->setSiteChannelThresholds(kept, channels);
        doc()->setSiteChannelThresholds(searched, std::vector<float>(std::size_t(doc()->sites()[std::size_t(searched)].shape[0]), 0.3f));
        doc()->waitForIdle();
        SearchOptions options;
        options.budgetPp = 3.0;
        options.stepsPerSite = 3;
        options.refine = false;
        options.sites = {searched};
        doc()->startThresholdSearch(options, 64);
        doc()->waitForIdle();
        QCOMPARE(doc()->channelThresholds()[std::size_t(kept)], channels);
        QVERIFY(doc()->channelThresholds()[std::size_t(searched)].empty());
        doc()->undoStack()->undo();
        QCOMPARE(doc()->channelThresholds()[std::size_t(searched)].size(), std::size_t(doc()->sites()[std::size_t(searched)].shape[0]));
        doc()->setSiteChannelThresholds(kept, {});
        doc()->setSiteChannelThresholds(searched, {});
        doc()->waitForIdle();
    }

    void saveAndReopen()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("tuned.sparsity.json"));
        const std::vector<float> thresholds = doc()->thresholds();
        const int scoped = tunableSite(2);
        QVERIFY(window_->saveProjectTo(path));
        QVERIFY(!doc()->isModified());
        QVERIFY(!window_->isWindowModified());
        // The file names sites, not indices.
        const Project saved = loadProject(path);
        QCOMPARE(saved.thresholds.size(), 3);
        QVERIFY(saved.scope.contains(QString::fromStdString(doc()->sites()[std::size_t(scoped)].name)));

        doc()->pushThresholds(std::vector<float>(thresholds.size(), 0.0f), QStringLiteral("reset"));
        QVERIFY(doc()->isModified());
        doc()->waitForIdle();
        doc()->markSaved(path); // pretend the user discarded: nothing should ask below
        QVERIFY(window_->openProjectFile(path));
        doc()->waitForIdle();
        QCOMPARE(doc()->projectPath(), QFileInfo(path).absoluteFilePath());
        QCOMPARE(doc()->siteValue(SiteField::Scope, scoped), 1.0);
        QVERIFY(!doc()->isModified());
        QCOMPARE(doc()->undoStack()->count(), 0);
        // Reopened to exactly the saved state, not the reset one that was never saved.
        QVERIFY(doc()->currentIsExact());
        QCOMPARE(doc()->thresholds().size(), thresholds.size());
        for (std::size_t i = 0; i < thresholds.size(); ++i)
            QCOMPARE(doc()->thresholds()[i], float(double(thresholds[i])));
    }

    void openingAModelKeepsThresholdsByName()
    {
        const std::vector<float> thresholds = doc()->thresholds();
        QVERIFY(std::any_of(thresholds.begin(), thresholds.end(), [](float t) { return t > 0.0f; }));
        window_->openInitial(QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt"));
        QVERIFY(errors_.isEmpty());
        QVERIFY(doc()->isModified()); // a new model is a change of the project
        QCOMPARE(doc()->undoStack()->count(), 0);
        doc()->waitForIdle();
        QCOMPARE(doc()->thresholds(), thresholds);
        QVERIFY(doc()->baseline());
        QVERIFY(doc()->currentIsExact());
        QCOMPARE(doc()->baseline()->result.images, 256); // the dataset and subset stay
        doc()->markSaved(doc()->projectPath());
    }

    void channelThresholdsFromTheProjectApply()
    {
        Project p = doc()->projectToSave();
        const int s = tunableSite(0);
        const Site &site = doc()->sites()[std::size_t(s)];
        const QString name = QString::fromStdString(site.name);
        p.thresholds.clear();
        // Half of the channels cut hard, the other half not at all.
        QVector<double> perChannel(int(site.shape[0]), 0.0);
        for (int c = 0; c < perChannel.size(); c += 2)
            perChannel[c] = 1.0;
        p.channelThresholds = {{name, perChannel}};
        QVERIFY(window_->openProject(p, QString()));
        doc()->waitForIdle();
        QVERIFY(doc()->current() && doc()->current() != doc()->baseline());
        QVERIFY(doc()->current()->result.sites[std::size_t(s)].sparsity() > doc()->baselineSparsity(s) + 0.05);
        QCOMPARE(doc()->projectToSave().channelThresholds.value(name), perChannel);
        const auto withChannels = doc()->current()->result.sites[std::size_t(s)].zeros;

        // A threshold typed for that site replaces its per-channel ones (they would override it); undo brings
        // them back, and the exact re-evaluation follows each step.
        doc()->pushSiteValue(SiteField::Threshold, s, 0.0);
        QVERIFY(doc()->channelThresholds()[std::size_t(s)].empty());
        QVERIFY(!doc()->projectToSave().channelThresholds.contains(name));
        doc()->waitForIdle();
        QVERIFY(doc()->currentIsExact());
        QCOMPARE(doc()->current()->result.sites[std::size_t(s)].sparsity(), doc()->baselineSparsity(s));
        doc()->undoStack()->undo();
        QCOMPARE(doc()->projectToSave().channelThresholds.value(name), perChannel);
        doc()->waitForIdle();
        QCOMPARE(doc()->current()->result.sites[std::size_t(s)].zeros, withChannels);
        // Every threshold at once (a reset) drops them too, undoably.
        doc()->pushThresholds(std::vector<float>(doc()->thresholds().size(), 0.1f), QStringLiteral("all 0.1"));
        QVERIFY(doc()->channelThresholds()[std::size_t(s)].empty());
        doc()->undoStack()->undo();
        QCOMPARE(doc()->projectToSave().channelThresholds.value(name), perChannel);
        doc()->waitForIdle();
        doc()->markSaved(QString());
    }

    void everyPlotSavesPngAndPdfAndCopiesCsv()
    {
        QTemporaryDir dir;
        struct Plot {
            const char *name;
            QCustomPlot *plot;
            QString csv;
        };
        const Plot plots[] = {
            {"histogram", window_->histogramView()->plot(), window_->histogramView()->csv()},
            {"heatmap", window_->heatmapView()->plot(), window_->heatmapView()->csv()},
            {"overview", window_->overviewView()->plot(), window_->overviewView()->csv()},
            {"hardware", window_->hardwareView()->plot(), window_->hardwareView()->csv()},
        };
        for (const Plot &p : plots) {
            QVERIFY2(p.csv.count(QLatin1Char('\n')) > 2, p.name); // a header and data rows
            for (const char *ext : {".png", ".pdf"}) {
                const QString path = dir.filePath(QString::fromLatin1(p.name) + QString::fromLatin1(ext));
                QString error;
                QVERIFY2(savePlot(p.plot, path, &error), qPrintable(error));
                QVERIFY2(QFileInfo(path).size() > 1000, qPrintable(path));
            }
        }
        QString error;
        QVERIFY(!savePlot(plots[0].plot, dir.filePath(QStringLiteral("missing/dir/x.png")), &error));
        QVERIFY(error.contains(QStringLiteral("missing")));
    }

    void brokenProjectIsReportedNotFatal()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("broken.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"schema\": \"sparsity-explorer/project\", \"version\": 1}");
        f.close();
        const auto baseline = doc()->baseline();
        errors_.clear();
        QVERIFY(!window_->openProjectFile(path));
        QCOMPARE(errors_.size(), 1);
        QVERIFY(errors_[0].contains(QStringLiteral("broken.json")));
        QVERIFY(errors_[0].contains(QStringLiteral("\"model\" is missing")));
        QCOMPARE(doc()->baseline(), baseline); // the open project is untouched
    }

    // A crash leaves the recovery copy of the unsaved edits; the next start offers it and opens it as unsaved.
    void recoveryCopyAfterACrash()
    {
        errors_.clear();
        int site = -1;
        for (int s = 0; s < doc()->siteCount() && site < 0; ++s)
            if (doc()->sites()[std::size_t(s)].sparsifiable && doc()->siteExecuted(s))
                site = s;
        doc()->pushSiteValue(SiteField::Threshold, site, 0.123);
        const QString copy = window_->recoveryCopy()->projectFile();
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(copy), 5000); // written a second after the change
        doc()->waitForIdle();
        const std::vector<float> edited = doc()->thresholds();
        const QString path = doc()->projectPath();

        // The window goes without a close event, as in a crash; the next one starts.
        proxyTester_.reset();
        sourceTester_.reset();
        window_.reset();
        QVERIFY(QFile::exists(copy));
        window_ = std::make_unique<MainWindow>();
        window_->setErrorSink([this](const QString &m) { errors_ << m; });
        QString asked;
        window_->setRecoveryAnswer([&asked](const QString &question) {
            asked = question;
            return true;
        });
        window_->openInitial(QString());
        QVERIFY2(asked.contains(QStringLiteral("did not close normally")), qPrintable(asked));
        QVERIFY(doc()->isModified()); // recovered, not saved
        QCOMPARE(doc()->projectPath(), path);
        QCOMPARE(doc()->thresholds(), edited);
        doc()->waitForIdle();
        QVERIFY(doc()->baseline());

        // Saving (here: marking it saved) removes the copy.
        doc()->markSaved(doc()->projectPath());
        QTRY_VERIFY_WITH_TIMEOUT(!QFile::exists(copy), 5000);
        QVERIFY2(errors_.isEmpty(), qPrintable(errors_.join(QLatin1Char('\n'))));
    }

    void cleanupTestCase()
    {
        if (window_)
            doc()->markSaved(doc()->projectPath());
        proxyTester_.reset();
        sourceTester_.reset();
        window_.reset();
    }
};

QTEST_MAIN(TestExplorer)
#include "tst_explorer.moc"
