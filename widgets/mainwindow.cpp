#include "mainwindow.h"

#include "comparisondialog.h"
#include "data/dataset.h"
#include "datasetbrowser.h"
#include "jobtracker.h"
#include "session.h"
#include "error.h"
#include "exportdialog.h"
#include "graphview.h"
#include "hardwareview.h"
#include "heatmapview.h"
#include "histogramview.h"
#include "layersview.h"
#include "graph/model.h"
#include "opendatasetdialog.h"
#include "overviewview.h"
#include "plotutil.h"
#include "io/project.h"
#include "searchdialog.h"
#include "sweepview.h"
#include "recoverycopy.h"
#include "graph/site.h"
#include "trainingpanel.h"
#include "windowlayout.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QToolButton>
#include <QUndoStack>

namespace sparsity::ui {

namespace {

QString formatEta(double seconds)
{
    if (seconds < 1.0)
        return QMainWindow::tr("< 1 s left");
    if (seconds < 90.0)
        return QMainWindow::tr("%1 s left").arg(int(seconds + 0.5));
    return QMainWindow::tr("%1 min left").arg(int(seconds / 60.0 + 0.5));
}

} // namespace

MainWindow::MainWindow(QWidget *parent) : QMainWindow(parent), doc_(new Session(this))
{
    recovery_ = new RecoveryCopy(doc_, RecoveryCopy::defaultDir(), this);
    setObjectName(QStringLiteral("MainWindow"));
    setAcceptDrops(true);
    setDockNestingEnabled(true);
    setDocumentMode(true);
    createDocks();
    createMenus();
    createStatusBar();
    const QRect available = availableArea(this);
    stateRestored_ = restoreWindowLayout(this, available);
    if (!stateRestored_)
        placedSize_ = placeWindow(this, available);

    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        if (e.kind == ChangeEvent::Kind::Modified || e.kind == ChangeEvent::Kind::ProjectPath)
            updateTitle();
        if (e.kind != ChangeEvent::Kind::Model)
            return;
        updateTitle();
        // Start on the first site that can be tuned, so every view has something to show.
        for (int s = 0; s < doc_->siteCount(); ++s)
            if (doc_->sites()[std::size_t(s)].sparsifiable && doc_->siteExecuted(s)) {
                doc_->setSelectedSite(s);
                break;
            }
        // The dataset's folder or file name; its description, with the full path, is the tooltip (no machine paths
        // in the window itself, nor in screenshots of it).
        if (doc_->hasDataset()) {
            const QString name = QFileInfo(QDir::cleanPath(doc_->project().datasetPath)).fileName();
            datasetLabel_->setText(tr("%1 · %2 images").arg(name.isEmpty() ? tr("dataset") : name).arg(doc_->indices().size()));
            datasetLabel_->setToolTip(QString::fromStdString(doc_->dataset()->describe()));
        } else {
            datasetLabel_->setText(doc_->hasModel() ? tr("No dataset: File ▸ Open Dataset…") : QString());
            datasetLabel_->setToolTip(QString());
        }
    });
    connect(doc_->jobs(), &JobTracker::finished, this, [this](const JobReport &report) {
        const bool training = report.kind == JobKind::Training || report.kind == JobKind::Comparison;
        if (report.outcome == JobReport::Outcome::Failed && !training)
            showError(tr("The capture failed"), report.error,
                      tr("Check that the dataset's preprocessing matches what the model expects (File ▸ Open Dataset…)."));
        else if (report.outcome == JobReport::Outcome::Failed)
            showError(tr("Fine-tuning failed"), report.error,
                      tr("Check the recipe in the Fine-Tuning panel and that the dataset has a labelled training split; "
                         "to resume, the checkpoint folder must come from the same model."));
        else if (report.kind == JobKind::Search && !report.cancelled())
            statusBar()->showMessage(report.summary, 15000);
    });
    updateTitle();
}

MainWindow::~MainWindow()
{
    // Views and the recovery copy first: they follow the Session, which must outlive every signal they might still
    // send. Destroying the window is not closing it: the recovery copy stays on disk (closeEvent removes it).
    delete recovery_;
    qDeleteAll(findChildren<QDockWidget *>(Qt::FindDirectChildrenOnly));
}

void MainWindow::createDocks()
{
    layers_ = new LayersView(doc_, this);
    histogram_ = new HistogramView(doc_, this);
    heatmap_ = new HeatmapView(doc_, this);
    overview_ = new OverviewView(doc_, this);
    hardware_ = new HardwareView(doc_, this);
    training_ = new TrainingPanel(doc_, this);
    browser_ = new DatasetBrowser(doc_, this);
    graph_ = new GraphView(doc_, this);
    connect(browser_, &DatasetBrowser::imageActivated, this, [this](std::size_t datasetIndex, int keptIndex) {
        if (keptIndex >= 0)
            heatmap_->setKeptImage(keptIndex);
        else
            statusBar()->showMessage(tr("Image #%1 has no feature maps kept; select it in the Dataset view and choose "
                                        "Use for Heatmaps (up to %2 images).")
                                         .arg(datasetIndex)
                                         .arg(Session::kMaxKeptImages),
                                     8000);
    });
    auto dock = [this](QWidget *w, const QString &title, const QString &name, Qt::DockWidgetArea area) {
        auto *d = new QDockWidget(title, this);
        d->setObjectName(name); // the key saveState() uses
        d->setWidget(w);
        d->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable | QDockWidget::DockWidgetClosable);
        addDockWidget(area, d);
        return d;
    };
    // No central widget: every view is a dock the user can move, stack or float.
    auto *placeholder = new QWidget(this);
    placeholder->setMaximumSize(0, 0);
    setCentralWidget(placeholder);
    QDockWidget *layers = dock(layers_, tr("Layers"), QStringLiteral("LayersDock"), Qt::LeftDockWidgetArea);
    QDockWidget *overview = dock(overview_, tr("Sparsity Overview"), QStringLiteral("OverviewDock"), Qt::LeftDockWidgetArea);
    QDockWidget *histogram = dock(histogram_, tr("Histogram"), QStringLiteral("HistogramDock"), Qt::RightDockWidgetArea);
    QDockWidget *heatmap = dock(heatmap_, tr("Feature Maps"), QStringLiteral("HeatmapDock"), Qt::RightDockWidgetArea);
    QDockWidget *hardware = dock(hardware_, tr("Hardware Projection"), QStringLiteral("HardwareDock"), Qt::RightDockWidgetArea);
    QDockWidget *training = dock(training_, tr("Fine-Tuning"), QStringLiteral("TrainingDock"), Qt::RightDockWidgetArea);
    QDockWidget *browser = dock(browser_, tr("Dataset"), QStringLiteral("DatasetDock"), Qt::RightDockWidgetArea);
    QDockWidget *graph = dock(graph_, tr("Graph"), QStringLiteral("GraphDock"), Qt::RightDockWidgetArea);
    splitDockWidget(layers, overview, Qt::Vertical);
    splitDockWidget(histogram, hardware, Qt::Horizontal);
    splitDockWidget(histogram, heatmap, Qt::Vertical);
    // Tabbed behind the views of part 1, so the default layout keeps its proportions; View menu or a tab raises them.
    tabifyDockWidget(hardware, training);
    tabifyDockWidget(heatmap, browser);
    tabifyDockWidget(heatmap, graph);
    hardware->raise();
    heatmap->raise();
}

void MainWindow::showEvent(QShowEvent *event)
{
    QMainWindow::showEvent(event);
    // Dock sizes only take once the window has its size; a saved layout wins. The window manager may resize a
    // maximized window a moment after it is shown: the default proportions follow until then.
    if (!shown_ && !stateRestored_) {
        // Maximized takes exactly the available area whatever the window manager's frame (a caller that chose a
        // size, such as a test, keeps it).
        if (size() == placedSize_)
            setWindowState(windowState() | Qt::WindowMaximized);
        defaultLayoutPending_ = true;
        QTimer::singleShot(0, this, [this] { applyDefaultDockSizes(this, layers_); });
        QTimer::singleShot(1000, this, [this] { defaultLayoutPending_ = false; });
    }
    shown_ = true;
}

void MainWindow::resizeEvent(QResizeEvent *event)
{
    QMainWindow::resizeEvent(event);
    if (defaultLayoutPending_)
        QTimer::singleShot(0, this, [this] { applyDefaultDockSizes(this, layers_); });
}

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&New Project"), QKeySequence::New, this, &MainWindow::newProject);
    file->addAction(tr("&Open Project…"), QKeySequence::Open, this, &MainWindow::openProjectDialog);
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    file->addAction(tr("Open &Sample Project"), this, [this] {
        if (maybeSave())
            openProject(sampleProject(), QString());
    });
    file->addSeparator();
    file->addAction(tr("&Save"), QKeySequence::Save, this, &MainWindow::save);
    file->addAction(tr("Save &As…"), QKeySequence::SaveAs, this, &MainWindow::saveAs);
    file->addSeparator();
    file->addAction(tr("Open &Model…"), QKeySequence(Qt::CTRL | Qt::Key_M), this, &MainWindow::openModelDialog);
    file->addAction(tr("Open &Dataset…"), QKeySequence(Qt::CTRL | Qt::Key_D), this, [this] { openDatasetDialog(); });
    file->addSeparator();
    file->addAction(tr("&Export Tuned Model…"), QKeySequence(Qt::CTRL | Qt::Key_E), this, &MainWindow::exportTunedModel);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    updateRecentMenu();

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    QAction *undo = doc_->undoStack()->createUndoAction(this, tr("&Undo"));
    undo->setShortcut(QKeySequence::Undo);
    QAction *redo = doc_->undoStack()->createRedoAction(this, tr("&Redo"));
    redo->setShortcut(QKeySequence::Redo);
    edit->addAction(undo);
    edit->addAction(redo);
    edit->addSeparator();
    edit->addAction(tr("Reset All &Thresholds"), this, [this] {
        doc_->pushThresholds(std::vector<float>(std::size_t(doc_->siteCount()), 0.0f), tr("Reset all thresholds"));
    });
    QMenu *filter = edit->addMenu(tr("Set Thresholds for &Target Sparsity"));
    for (int pct : {50, 60, 70, 80, 90}) {
        filter->addAction(tr("%1 % at every site (quantile rule)").arg(pct), this, [this, pct] {
            const auto base = doc_->baseline();
            if (!base)
                return;
            std::vector<float> t(std::size_t(doc_->siteCount()), 0.0f);
            for (int s = 0; s < doc_->siteCount(); ++s)
                if (doc_->sites()[std::size_t(s)].sparsifiable)
                    t[std::size_t(s)] = float(base->result.sites[std::size_t(s)].thresholdForSparsity(pct / 100.0));
            doc_->pushThresholds(t, tr("Thresholds for %1 % sparsity").arg(pct));
        });
    }

    QMenu *analysis = menuBar()->addMenu(tr("&Analysis"));
    analysis->addAction(tr("&Re-evaluate Now"), QKeySequence::Refresh, this, [this] { doc_->requestReevaluation(); });
    analysis->addAction(tr("Recapture &Baseline"), this, [this] { doc_->startBaselineCapture(); });
    analysis->addAction(tr("&Cancel Running Job"), QKeySequence(Qt::Key_Escape), this, [this] { doc_->cancelJobs(); });
    analysis->addSeparator();
    // Threshold search (core/thresholdsearch.h): budget and scope from a dialog, result as one undo step.
    analysis->addAction(tr("Threshold &Search…"), QKeySequence(Qt::CTRL | Qt::Key_T), this, &MainWindow::thresholdSearch);
    analysis->addAction(tr("S&weep…"), this, [this] {
        auto *dock = qobject_cast<QDockWidget *>(sweepView()->parentWidget());
        dock->show();
        dock->raise();
    });
    analysis->addAction(tr("Compare &Methods…"), this, [this] {
        ComparisonDialog *dialog = comparisonDialog();
        dialog->show();
        dialog->raise();
    });

    viewMenu_ = menuBar()->addMenu(tr("&View"));
    for (QDockWidget *d : findChildren<QDockWidget *>())
        viewMenu_->addAction(d->toggleViewAction());
    viewMenu_->addSeparator();
    QAction *dark = viewMenu_->addAction(tr("&Dark Palette (after restart)"));
    dark->setCheckable(true);
    dark->setChecked(QSettings().value(QStringLiteral("darkPalette"), true).toBool());
    connect(dark, &QAction::toggled, this, [](bool on) { QSettings().setValue(QStringLiteral("darkPalette"), on); });

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Sparsity Explorer"), this, [this] {
        QMessageBox::about(this, tr("About Sparsity Explorer"),
                           tr("<b>Sparsity Explorer</b> %1<p>Inspect and raise the activation sparsity of CNNs for "
                              "event-driven processors. Hardware figures are model estimates; see "
                              "docs/processor-model.md.</p>")
                               .arg(QApplication::applicationVersion()));
    });
}

void MainWindow::createStatusBar()
{
    jobLabel_ = new QLabel(this);
    progress_ = new QProgressBar(this);
    progress_->setMaximumWidth(220);
    progress_->setTextVisible(true);
    progress_->hide();
    cancel_ = new QToolButton(this);
    cancel_->setText(tr("Cancel"));
    cancel_->setToolTip(tr("Stop the running job (Esc). A capture stops within one batch."));
    cancel_->hide();
    datasetLabel_ = new QLabel(this);
    statusBar()->addWidget(jobLabel_);
    statusBar()->addWidget(progress_);
    statusBar()->addWidget(cancel_);
    statusBar()->addPermanentWidget(datasetLabel_);
    connect(cancel_, &QToolButton::clicked, doc_, &Session::cancelJobs);
    connect(doc_->jobs(), &JobTracker::started, this, [this](JobKind, const QString &what) {
        jobLabel_->setText(what + QStringLiteral("…"));
        progress_->setRange(0, 0);
        progress_->show();
        cancel_->show();
    });
    connect(doc_->jobs(), &JobTracker::progress, this, [this](qint64 done, qint64 total, double eta) {
        progress_->setRange(0, int(total));
        progress_->setValue(int(done));
        progress_->setFormat(QStringLiteral("%v / %m · ") + formatEta(eta));
    });
    connect(doc_->jobs(), &JobTracker::pausedChanged, this, [this](bool paused) {
        if (paused) // no progress arrives meanwhile; the next step's progress replaces this
            progress_->setFormat(QStringLiteral("%v / %m · ") + tr("paused"));
    });
    connect(doc_->jobs(), &JobTracker::finished, this, [this](const JobReport &report) {
        if (doc_->isBusy())
            return;
        progress_->hide();
        cancel_->hide();
        jobLabel_->setText(report.cancelled() ? tr("Cancelled") : tr("Ready"));
    });
}

void MainWindow::updateTitle()
{
    const QString path = doc_->projectPath();
    const QString name = path.isEmpty() ? (doc_->hasModel() ? tr("Untitled project") : tr("No project"))
                                        : QFileInfo(path).fileName();
    setWindowTitle(tr("%1[*] — %2 — Sparsity Explorer").arg(name, doc_->hasModel() ? doc_->modelName() : tr("no model")));
    setWindowModified(doc_->isModified());
}

void MainWindow::showError(const QString &title, const QString &message, const QString &advice)
{
    if (errorSink_) {
        errorSink_(message);
        return;
    }
    auto *box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setInformativeText(advice);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open(); // window-modal without a nested event loop: a running capture keeps reporting
}


void MainWindow::thresholdSearch()
{
    if (!doc_->baseline()) {
        showError(tr("Threshold search"), tr("The search needs a model, a dataset and a finished baseline capture."),
                  tr("Open a model and a dataset, wait for the baseline capture, then search again."));
        return;
    }
    SearchDialog dialog(*doc_, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    const SearchOptions options = dialog.options();
    if (dialog.scopeOnly() && options.sites.empty()) {
        showError(tr("Threshold search"), tr("No site is in the regularization scope."),
                  tr("Tick sites in the Scope column of the Layers table, or search every site."));
        return;
    }
    doc_->startThresholdSearch(options, dialog.calibrationImages());
}

SweepView *MainWindow::sweepView()
{
    // Made on first use, as a tab beside the Feature Maps: the first window's layout stays as it was.
    if (!sweep_) {
        sweep_ = new SweepView(doc_, this);
        auto *d = new QDockWidget(tr("Sweep"), this);
        d->setObjectName(QStringLiteral("SweepDock"));
        d->setWidget(sweep_);
        d->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable | QDockWidget::DockWidgetClosable);
        addDockWidget(Qt::RightDockWidgetArea, d);
        if (auto *heatmap = findChild<QDockWidget *>(QStringLiteral("HeatmapDock")))
            tabifyDockWidget(heatmap, d);
        viewMenu_->addAction(d->toggleViewAction());
    }
    return sweep_;
}

ComparisonDialog *MainWindow::comparisonDialog()
{
    if (!comparison_)
        comparison_ = new ComparisonDialog(doc_, this); // non-modal: the comparison runs while the user works
    return comparison_;
}

void MainWindow::exportTunedModel()
{
    if (!doc_->hasModel()) {
        showError(tr("Export tuned model"), tr("There is no model to export."), tr("Open a project or a model first."));
        return;
    }
    ExportDialog dialog(doc_, this, [this] { return exportablePlots(); });
    dialog.exec();
}

std::vector<NamedPlot> MainWindow::exportablePlots() const
{
    std::vector<NamedPlot> plots{{QStringLiteral("histogram"), histogram_->plot()},
                                 {QStringLiteral("featuremaps"), heatmap_->plot()},
                                 {QStringLiteral("overview"), overview_->plot()},
                                 {QStringLiteral("hardware"), hardware_->plot()}};
    if (training_->stepsPlotted() > 0)
        plots.push_back({QStringLiteral("training"), training_->plot()});
    if (sweep_ && sweep_->pointsPlotted() > 0)
        plots.push_back({QStringLiteral("sweep"), sweep_->plot()});
    if (comparison_ && comparison_->pointsPlotted() > 0)
        plots.push_back({QStringLiteral("comparison"), comparison_->plot()});
    return plots;
}


void MainWindow::closeEvent(QCloseEvent *event)
{
    if (doc_->isTraining()) {
        const QString dir = QDir::toNativeSeparators(doc_->lastTraining() ? doc_->lastTraining()->checkpointDir
                                                                           : doc_->defaultCheckpointDir());
        const bool stop =
            closeDuringTraining_
                ? closeDuringTraining_()
                : QMessageBox::question(this, tr("Fine-tuning is running"),
                                        tr("Stop the fine-tuning and close? Finished epochs stay in %1; Resume in the "
                                           "Fine-Tuning panel continues from there.")
                                            .arg(dir),
                                        QMessageBox::Yes | QMessageBox::No, QMessageBox::No) == QMessageBox::Yes;
        if (!stop) {
            event->ignore();
            return;
        }
    }
    if (!maybeSave()) {
        event->ignore();
        return;
    }
    doc_->cancelJobs();
    saveWindowLayout(this);
    recovery_->discard(); // a clean close: nothing to recover
    event->accept();
}

} // namespace sparsity::ui
