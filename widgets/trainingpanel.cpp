#include "trainingpanel.h"

#include "jobtracker.h"
#include "session.h"
#include "plotutil.h"
#include "tune/recipe.h"
#include "tune/training.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>

#include <limits>

namespace sparsity::ui {

namespace {

enum Graph { TaskLoss, Penalty, Sparsity, Validation };

QDoubleSpinBox *doubleSpin(double min, double max, int decimals, double step, QWidget *parent)
{
    auto *s = new QDoubleSpinBox(parent);
    s->setRange(min, max);
    s->setDecimals(decimals);
    s->setSingleStep(step);
    return s;
}

QSpinBox *intSpin(int min, int max, QWidget *parent, const QString &special = QString())
{
    auto *s = new QSpinBox(parent);
    s->setRange(min, max);
    s->setSpecialValueText(special);
    s->setGroupSeparatorShown(true);
    return s;
}

} // namespace

TrainingPanel::TrainingPanel(Session *doc, QWidget *parent) : QWidget(parent), doc_(doc)
{
    method_ = new QComboBox(this);
    for (auto m : {Recipe::Method::Star, Recipe::Method::L1Only, Recipe::Method::ThresholdOnly, Recipe::Method::Relu})
        method_->addItem(QString::fromUtf8(methodName(m)), int(m));
    scope_ = new QComboBox(this);
    scope_->addItem(tr("All sites"), int(Recipe::ScopeMode::All));
    scope_->addItem(tr("Scope column of the Layers table"), int(Recipe::ScopeMode::Sites));
    scope_->addItem(tr("Depth range"), int(Recipe::ScopeMode::Depth));
    minDepth_ = intSpin(0, 100000, this);
    maxDepth_ = intSpin(0, std::numeric_limits<int>::max(), this);
    bandMode_ = new QComboBox(this);
    bandMode_->addItem(tr("Quantile of positive values"), int(Recipe::BandMode::Quantile));
    bandMode_->addItem(tr("Absolute"), int(Recipe::BandMode::Absolute));
    band_ = doubleSpin(0.0, 1e6, 4, 0.05, this);
    bandPerChannel_ = new QCheckBox(tr("Quantile of each channel"), this);
    bandPerChannel_->setObjectName(QStringLiteral("bandPerChannel"));
    bandPerChannel_->setToolTip(tr("Each channel's band is the quantile of its own positive values, so a channel whose "
                                   "typical value lies above the site's band is penalised too"));
    penalty_ = new QComboBox(this);
    penalty_->addItem(tr("L1"), int(Recipe::Penalty::L1));
    penalty_->addItem(tr("Hoyer-square"), int(Recipe::Penalty::HoyerSquare));
    weighting_ = new QComboBox(this);
    weighting_->setObjectName(QStringLiteral("weighting"));
    weighting_->addItem(tr("Each site alike"), int(Recipe::PenaltyWeighting::PerSite));
    weighting_->addItem(tr("Each activation alike"), int(Recipe::PenaltyWeighting::PerActivation));
    weighting_->setToolTip(tr("Each site alike: every scoped site's term is its own mean. Each activation alike: large "
                              "maps weigh by their size, as every event costs the processor the same."));
    lambda_ = doubleSpin(0.0, 1e6, 4, 0.1, this);
    lambda_->setObjectName(QStringLiteral("lambda"));
    regEpochs_ = intSpin(0, 1000, this);
    regRate_ = doubleSpin(0.0, 10.0, 6, 1e-4, this);
    thresholdMode_ = new QComboBox(this);
    thresholdMode_->addItem(tr("Search within budget"), int(Recipe::ThresholdMode::Search));
    thresholdMode_->addItem(tr("Quantile (target sparsity)"), int(Recipe::ThresholdMode::Quantile));
    thresholdMode_->addItem(tr("Global value"), int(Recipe::ThresholdMode::Global));
    thresholdMode_->addItem(tr("Keep current thresholds"), int(Recipe::ThresholdMode::Keep));
    strategy_ = new QComboBox(this);
    strategy_->setObjectName(QStringLiteral("strategy"));
    strategy_->addItem(tr("Bisection"), int(SearchOptions::Strategy::Bisection));
    strategy_->addItem(tr("Greedy (small steps, ranked by KL divergence)"), int(SearchOptions::Strategy::Greedy));
    strategy_->setToolTip(tr("Greedy: about 8 times the evaluations of bisection; classifiers, one threshold per site"));
    perChannel_ = new QCheckBox(tr("One threshold per channel"), this);
    perChannel_->setObjectName(QStringLiteral("perChannel"));
    perChannel_->setToolTip(tr("The search scales each channel's threshold by the channel's mean positive activation "
                               "(t_c = s · r_c, one searched s per site)"));
    budget_ = doubleSpin(0.0, 100.0, 2, 0.1, this);
    budget_->setSuffix(tr(" pp"));
    target_ = doubleSpin(0.0, 1.0, 3, 0.05, this);
    constantShare_ = doubleSpin(0.0, 1.0, 2, 0.05, this);
    constantShare_->setObjectName(QStringLiteral("constantShare"));
    constantShare_->setSpecialValueText(tr("off"));
    constantShare_->setToolTip(tr("After the thresholds: a channel whose most frequent value covers at least this share of "
                                  "its positions (a constant answer to an empty background) is thresholded at that value"));
    ftEpochs_ = intSpin(0, 1000, this);
    ftEpochs_->setObjectName(QStringLiteral("finetuneEpochs"));
    ramp_ = doubleSpin(0.0, 1000.0, 1, 0.5, this);
    ramp_->setObjectName(QStringLiteral("ramp"));
    ramp_->setSuffix(tr(" epochs"));
    ramp_->setSpecialValueText(tr("at once"));
    ramp_->setToolTip(tr("The thresholds grow linearly from 0 to their value over this many fine-tune epochs, so the "
                         "network adapts while they rise (at most the fine-tune epochs)"));
    learnThresholds_ = new QCheckBox(tr("Learn thresholds while fine-tuning"), this);
    learnThresholds_->setObjectName(QStringLiteral("learnThresholds"));
    learnThresholds_->setToolTip(tr("Each site's threshold becomes a parameter (straight-through): the task loss pulls it "
                                    "down, the sparsity pressure pushes it up. One threshold per site, no ramp."));
    sparsityWeight_ = doubleSpin(0.0, 1e6, 4, 0.01, this);
    sparsityWeight_->setObjectName(QStringLiteral("sparsityWeight"));
    sparsityWeight_->setToolTip(tr("Weight of the sites' nonzero fractions in the loss while the thresholds learn"));
    ftRate_ = doubleSpin(0.0, 10.0, 6, 1e-4, this);
    trainImages_ = intSpin(0, std::numeric_limits<int>::max(), this, tr("all"));
    calibrationImages_ = intSpin(1, std::numeric_limits<int>::max(), this);
    validationImages_ = intSpin(1, std::numeric_limits<int>::max(), this);
    batch_ = intSpin(1, 4096, this);
    seed_ = intSpin(0, std::numeric_limits<int>::max(), this);
    processes_ = intSpin(1, 64, this);
    processes_->setToolTip(tr("Train as a group of this many processes on this machine (PyTorch's c10d with Gloo): "
                              "the explorer and sparsity-cli workers each take part of every batch and the gradients are "
                              "averaged. The batch size must divide by it. docs/distributed.md."));

    auto *form = new QFormLayout;
    form->addRow(tr("Method"), method_);
    form->addRow(tr("Scope"), scope_);
    auto *depth = new QHBoxLayout;
    depth->addWidget(minDepth_);
    depth->addWidget(new QLabel(tr("to"), this));
    depth->addWidget(maxDepth_);
    form->addRow(tr("Depths"), depth);
    form->addRow(tr("Near-zero band"), bandMode_);
    form->addRow(tr("Band value"), band_);
    form->addRow(QString(), bandPerChannel_);
    form->addRow(tr("Penalty"), penalty_);
    form->addRow(tr("Penalty weighting"), weighting_);
    form->addRow(tr("λ"), lambda_);
    form->addRow(tr("Regularize epochs"), regEpochs_);
    form->addRow(tr("Regularize learning rate"), regRate_);
    form->addRow(tr("Thresholds"), thresholdMode_);
    form->addRow(tr("Search"), strategy_);
    form->addRow(QString(), perChannel_);
    form->addRow(tr("Accuracy budget"), budget_);
    form->addRow(tr("Target sparsity"), target_);
    form->addRow(tr("Cut constant responses"), constantShare_);
    form->addRow(tr("Fine-tune epochs"), ftEpochs_);
    form->addRow(tr("Threshold ramp"), ramp_);
    form->addRow(QString(), learnThresholds_);
    form->addRow(tr("Sparsity pressure"), sparsityWeight_);
    form->addRow(tr("Fine-tune learning rate"), ftRate_);
    form->addRow(tr("Training images"), trainImages_);
    form->addRow(tr("Calibration images"), calibrationImages_);
    form->addRow(tr("Validation images"), validationImages_);
    form->addRow(tr("Batch size"), batch_);
    form->addRow(tr("Seed"), seed_);
    form->addRow(tr("Processes"), processes_);
    auto *editor = new QWidget(this);
    editor->setLayout(form);
    auto *scroll = new QScrollArea(this);
    scroll->setWidget(editor);
    scroll->setWidgetResizable(true);
    // The form asks for its full width, but its minimum is a readable column: as the minimum, the full width made
    // the dock (and the window) wider than a 1366-pixel screen (tests/tst_layout.cpp); narrower, it scrolls.
    const int full = editor->sizeHint().width() + scroll->verticalScrollBar()->sizeHint().width() + 2 * scroll->frameWidth();
    scroll->setMinimumWidth(std::min(full, fontMetrics().horizontalAdvance(QLatin1Char('M')) * 22));

    start_ = new QPushButton(tr("Start"), this);
    start_->setToolTip(tr("Fine-tune a fresh copy of the model file with this recipe, starting from the current thresholds."));
    pause_ = new QPushButton(tr("Pause"), this);
    pause_->setToolTip(tr("Suspend the run before its next step (no CPU used meanwhile); Continue picks it up there."));
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setToolTip(tr("Stop within one step; finished epochs stay in the checkpoint folder."));
    resume_ = new QPushButton(tr("Resume"), this);
    resume_->setToolTip(tr("Continue from the newest checkpoint in the folder below."));
    checkpoints_ = new QLabel(this);
    checkpoints_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    checkpoints_->setWordWrap(true);
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    plot_ = new QCustomPlot(this);
    stylePlot(plot_);
    plot_->setMinimumHeight(180);
    const QColor colors[] = {plotcolors::current(), plotcolors::threshold(), plotcolors::zero(), plotcolors::baseline()};
    const QString names[] = {tr("Task loss"), tr("Penalty"), tr("Sparsity (step)"), tr("Validation top-1 (epoch)")};
    for (int g = 0; g < 4; ++g) {
        QCPGraph *graph = plot_->addGraph(plot_->xAxis, g < Sparsity ? plot_->yAxis : plot_->yAxis2);
        graph->setName(names[g]);
        graph->setPen(QPen(colors[g], g == Validation ? 2.0 : 1.4));
        if (g == Validation)
            graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
    }
    plot_->xAxis->setLabel(tr("Step"));
    plot_->yAxis->setLabel(tr("Loss"));
    plot_->yAxis2->setVisible(true);
    plot_->yAxis2->setLabel(tr("Fraction"));
    plot_->yAxis2->setRange(0.0, 1.0);
    plot_->legend->setVisible(true);
    plot_->legend->setFont(font());
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    installPlotActions(plot_, [this] { return csv(); }, [] { return QStringLiteral("training-curves"); });

    auto *buttons = new QHBoxLayout;
    buttons->addWidget(start_);
    buttons->addWidget(pause_);
    buttons->addWidget(cancel_);
    buttons->addWidget(resume_);
    buttons->addStretch(1);
    auto *right = new QWidget(this);
    auto *rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addLayout(buttons);
    rightLayout->addWidget(checkpoints_);
    rightLayout->addWidget(status_);
    rightLayout->addWidget(plot_, 1);
    split_ = new QSplitter(Qt::Horizontal, this);
    split_->addWidget(scroll);
    split_->addWidget(right);
    split_->setStretchFactor(1, 2);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(split_);

    for (QComboBox *c : {method_, scope_, bandMode_, penalty_, weighting_, thresholdMode_, strategy_})
        connect(c, &QComboBox::currentIndexChanged, this, &TrainingPanel::storeInDocument);
    for (QSpinBox *s : {minDepth_, maxDepth_, regEpochs_, ftEpochs_, trainImages_, calibrationImages_, validationImages_,
                        batch_, seed_})
        connect(s, &QSpinBox::valueChanged, this, &TrainingPanel::storeInDocument);
    // A ramp longer than the fine-tune would never reach the thresholds (the recipe file refuses it too).
    connect(ftEpochs_, &QSpinBox::valueChanged, this, [this](int epochs) { ramp_->setMaximum(double(epochs)); });
    for (QDoubleSpinBox *s : {band_, lambda_, budget_, target_, constantShare_, regRate_, ftRate_, ramp_, sparsityWeight_})
        connect(s, &QDoubleSpinBox::valueChanged, this, &TrainingPanel::storeInDocument);
    for (QCheckBox *c : {perChannel_, bandPerChannel_, learnThresholds_})
        connect(c, &QCheckBox::toggled, this, &TrainingPanel::storeInDocument);
    connect(start_, &QPushButton::clicked, this, [this] { start(false); });
    connect(resume_, &QPushButton::clicked, this, [this] { start(true); });
    connect(cancel_, &QPushButton::clicked, doc_, &Session::cancelTraining);
    connect(pause_, &QPushButton::clicked, this, [this] { doc_->setTrainingPaused(!doc_->isTrainingPaused()); });
    connect(doc_->jobs(), &JobTracker::pausedChanged, this, [this] {
        showProgress(progress_);
        updateButtons();
    });

    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        if (e.kind == ChangeEvent::Kind::Model)
            loadFromDocument();
        else if (e.kind == ChangeEvent::Kind::ProjectPath)
            updateButtons();
    });
    connect(doc_->jobs(), &JobTracker::started, this, [this](JobKind kind, const QString &description) {
        if (kind != JobKind::Training)
            return;
        showProgress(description + QStringLiteral("…"));
        updateButtons();
    });
    connect(doc_, &Session::trainingStep, this, &TrainingPanel::addStep);
    connect(doc_, &Session::trainingEpoch, this, &TrainingPanel::addEpoch);
    connect(doc_, &Session::trainingMessage, this, &TrainingPanel::showProgress);
    connect(doc_->jobs(), &JobTracker::finished, this, [this](const JobReport &report) {
        if (report.kind != JobKind::Training)
            return;
        status_->setText(report.summary);
        updateButtons();
    });
    loadFromDocument();
}

void TrainingPanel::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    // Form beside the curves when there is room, above them in a narrow dock.
    split_->setOrientation(width() >= 800 ? Qt::Horizontal : Qt::Vertical);
}

Recipe TrainingPanel::recipe() const
{
    Recipe r = doc_->recipe(); // keeps what the editor does not show (optimiser kind, schedule, augmentation)
    r.method = Recipe::Method(method_->currentData().toInt());
    r.scopeMode = Recipe::ScopeMode(scope_->currentData().toInt());
    r.scopeSites.clear();
    if (r.scopeMode == Recipe::ScopeMode::Sites)
        for (const QString &name : doc_->projectToSave().scope)
            r.scopeSites.push_back(name.toStdString());
    r.minDepth = minDepth_->value();
    r.maxDepth = maxDepth_->value();
    r.bandMode = Recipe::BandMode(bandMode_->currentData().toInt());
    r.band = band_->value();
    r.bandPerChannel = bandPerChannel_->isChecked();
    r.penalty = Recipe::Penalty(penalty_->currentData().toInt());
    r.penaltyWeighting = Recipe::PenaltyWeighting(weighting_->currentData().toInt());
    r.lambda = lambda_->value();
    r.regularizeEpochs = regEpochs_->value();
    r.regularizeOptimizer.learningRate = regRate_->value();
    r.thresholdMode = Recipe::ThresholdMode(thresholdMode_->currentData().toInt());
    r.budgetPp = budget_->value();
    r.searchStrategy = SearchOptions::Strategy(strategy_->currentData().toInt());
    r.learnThresholds = learnThresholds_->isChecked();
    r.sparsityWeight = sparsityWeight_->value();
    // Learned thresholds are one per site and move by themselves: no per-channel values, no ramp (the recipe file
    // refuses both combinations, so a saved project stays loadable).
    r.perChannelThresholds = perChannel_->isChecked() && r.searchStrategy == SearchOptions::Strategy::Bisection && !r.learnThresholds;
    r.targetSparsity = target_->value();
    r.constantShare = constantShare_->value();
    r.finetuneEpochs = ftEpochs_->value();
    r.rampEpochs = r.learnThresholds ? 0.0 : std::min(ramp_->value(), double(r.finetuneEpochs));
    r.finetuneOptimizer.learningRate = ftRate_->value();
    r.trainImages = std::size_t(trainImages_->value());
    r.calibrationImages = std::size_t(calibrationImages_->value());
    r.validationImages = std::size_t(validationImages_->value());
    r.batchSize = std::size_t(batch_->value());
    r.seed = std::uint64_t(seed_->value());
    return r;
}

void TrainingPanel::setRecipe(const Recipe &r)
{
    showRecipe(r);
    storeInDocument();
}

void TrainingPanel::showRecipe(const Recipe &r)
{
    const bool wasLoading = loading_;
    loading_ = true;
    auto select = [](QComboBox *c, int value) { c->setCurrentIndex(std::max(0, c->findData(value))); };
    select(method_, int(r.method));
    select(scope_, int(r.scopeMode));
    minDepth_->setValue(r.minDepth);
    maxDepth_->setValue(r.maxDepth);
    select(bandMode_, int(r.bandMode));
    band_->setValue(r.band);
    bandPerChannel_->setChecked(r.bandPerChannel);
    select(penalty_, int(r.penalty));
    select(weighting_, int(r.penaltyWeighting));
    lambda_->setValue(r.lambda);
    regEpochs_->setValue(r.regularizeEpochs);
    regRate_->setValue(r.regularizeOptimizer.learningRate);
    select(thresholdMode_, int(r.thresholdMode));
    budget_->setValue(r.budgetPp);
    select(strategy_, int(r.searchStrategy));
    perChannel_->setChecked(r.perChannelThresholds);
    target_->setValue(r.targetSparsity);
    constantShare_->setValue(r.constantShare);
    ftEpochs_->setValue(r.finetuneEpochs);
    ramp_->setMaximum(double(r.finetuneEpochs));
    ramp_->setValue(r.rampEpochs);
    learnThresholds_->setChecked(r.learnThresholds);
    sparsityWeight_->setValue(r.sparsityWeight);
    ftRate_->setValue(r.finetuneOptimizer.learningRate);
    trainImages_->setValue(int(std::min<std::size_t>(r.trainImages, std::size_t(std::numeric_limits<int>::max()))));
    calibrationImages_->setValue(int(std::min<std::size_t>(r.calibrationImages, std::size_t(std::numeric_limits<int>::max()))));
    validationImages_->setValue(int(std::min<std::size_t>(r.validationImages, std::size_t(std::numeric_limits<int>::max()))));
    batch_->setValue(int(r.batchSize));
    seed_->setValue(int(std::min<std::uint64_t>(r.seed, std::uint64_t(std::numeric_limits<int>::max()))));
    loading_ = wasLoading;
    updateEnabledFields();
}

void TrainingPanel::loadFromDocument()
{
    showRecipe(doc_->recipe()); // shown, not stored: opening a project does not modify it
    clearCurves();
    status_->clear();
    updateButtons();
}

void TrainingPanel::storeInDocument()
{
    updateEnabledFields();
    if (loading_ || !doc_->hasModel())
        return;
    doc_->setRecipe(recipe());
}

void TrainingPanel::updateEnabledFields()
{
    const auto scope = Recipe::ScopeMode(scope_->currentData().toInt());
    minDepth_->setEnabled(scope == Recipe::ScopeMode::Depth);
    maxDepth_->setEnabled(scope == Recipe::ScopeMode::Depth);
    const auto mode = Recipe::ThresholdMode(thresholdMode_->currentData().toInt());
    budget_->setEnabled(mode == Recipe::ThresholdMode::Search);
    strategy_->setEnabled(mode == Recipe::ThresholdMode::Search);
    bandPerChannel_->setEnabled(Recipe::BandMode(bandMode_->currentData().toInt()) == Recipe::BandMode::Quantile);
    const bool greedy = SearchOptions::Strategy(strategy_->currentData().toInt()) == SearchOptions::Strategy::Greedy;
    const bool learning = learnThresholds_->isChecked();
    perChannel_->setEnabled(mode == Recipe::ThresholdMode::Search && !greedy && !learning); // one per site
    ramp_->setEnabled(!learning);
    sparsityWeight_->setEnabled(learning);
    target_->setEnabled(mode == Recipe::ThresholdMode::Quantile);
}

QString TrainingPanel::checkpointDir() const { return doc_->hasModel() ? doc_->defaultCheckpointDir() : QString(); }

void TrainingPanel::updateButtons()
{
    const bool training = doc_->isTraining();
    const bool ready = doc_->hasModel() && doc_->hasDataset();
    const QString dir = checkpointDir();
    const bool hasCheckpoint = !dir.isEmpty() && !QDir(dir).isEmpty();
    start_->setEnabled(ready && !training);
    resume_->setEnabled(ready && !training && hasCheckpoint);
    cancel_->setEnabled(training);
    pause_->setEnabled(training);
    pause_->setText(doc_->isTrainingPaused() ? tr("Continue") : tr("Pause"));
    for (QWidget *w : std::initializer_list<QWidget *>{method_, scope_, bandMode_, penalty_, weighting_, thresholdMode_, strategy_, perChannel_, bandPerChannel_, band_, lambda_,
                                                        regEpochs_, regRate_, budget_, target_, constantShare_, ftEpochs_, ramp_, ftRate_,
                                                        learnThresholds_, sparsityWeight_,
                                                        trainImages_, calibrationImages_, validationImages_, batch_, seed_, processes_})
        w->setEnabled(!training);
    if (!training)
        updateEnabledFields();
    else
        minDepth_->setEnabled(false), maxDepth_->setEnabled(false);
    checkpoints_->setText(dir.isEmpty() ? QString()
                                        : tr("Checkpoints: %1%2")
                                              .arg(QDir::toNativeSeparators(dir),
                                                   hasCheckpoint ? QString() : tr(" (none yet)")));
}

void TrainingPanel::start(bool resume)
{
    const Recipe r = recipe();
    if (r.scopeMode == Recipe::ScopeMode::Sites && r.scopeSites.empty()) {
        status_->setText(tr("No site is in the regularization scope: tick sites in the Scope column of the Layers "
                            "table, or choose another scope."));
        return;
    }
    if (!resume)
        clearCurves();
    doc_->startTraining(r, checkpointDir(), resume, processes_->value());
}

void TrainingPanel::clearCurves()
{
    for (int g = 0; g < plot_->graphCount(); ++g)
        plot_->graph(g)->data()->clear();
    stepX_ = 0.0;
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void TrainingPanel::addStep(const TrainingStep &step)
{
    stepX_ = double(step.epoch) * double(std::max(1, step.stepsPerEpoch)) + double(step.step);
    plot_->graph(TaskLoss)->addData(stepX_, step.taskLoss);
    plot_->graph(Penalty)->addData(stepX_, step.penalty);
    plot_->graph(Sparsity)->addData(stepX_, step.sparsity);
    plot_->graph(TaskLoss)->rescaleAxes();
    plot_->graph(Penalty)->rescaleValueAxis(true);
    plot_->yAxis->setRangeLower(0.0);
    plot_->yAxis2->setRange(0.0, 1.0);
    showProgress(tr("%1 · epoch %2 · step %3 / %4 · loss %5")
                         .arg(QString::fromStdString(step.phase))
                         .arg(step.epoch + 1)
                         .arg(step.step + 1)
                         .arg(step.stepsPerEpoch)
                         .arg(step.taskLoss, 0, 'g', 4));
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void TrainingPanel::addEpoch(const EpochReport &epoch)
{
    plot_->graph(Validation)->addData(stepX_, epoch.validationTop1 / 100.0);
    showProgress(tr("Epoch %1 / %2 (%3): validation top-1 %4 %, sparsity %5 %")
                         .arg(epoch.epoch + 1)
                         .arg(epoch.epochsTotal)
                         .arg(QString::fromStdString(epoch.phase))
                         .arg(epoch.validationTop1, 0, 'f', 2)
                         .arg(100.0 * epoch.validationSparsity, 0, 'f', 1));
    updateButtons();
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void TrainingPanel::showProgress(const QString &text)
{
    progress_ = text;
    status_->setText(doc_->isTrainingPaused() ? tr("%1 · <b>paused</b> (Continue picks up at the next step; Cancel stops)")
                                                    .arg(text.toHtmlEscaped())
                                              : text);
}

int TrainingPanel::stepsPlotted() const { return plot_->graph(TaskLoss)->dataCount(); }
int TrainingPanel::epochsPlotted() const { return plot_->graph(Validation)->dataCount(); }
QString TrainingPanel::statusText() const { return status_->text(); }

QString TrainingPanel::csv() const
{
    QString out = QStringLiteral("series,x,value\n");
    for (int g = 0; g < plot_->graphCount(); ++g)
        for (auto it = plot_->graph(g)->data()->constBegin(); it != plot_->graph(g)->data()->constEnd(); ++it)
            out += QStringLiteral("%1,%2,%3\n").arg(plot_->graph(g)->name()).arg(it->key).arg(it->value, 0, 'g', 8);
    return out;
}

} // namespace sparsity::ui
