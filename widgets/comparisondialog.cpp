#include "comparisondialog.h"

#include "tune/comparison.h"
#include "jobtracker.h"
#include "session.h"
#include "plotutil.h"
#include "hardware/processor.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <limits>

namespace sparsity::ui {

namespace {

constexpr Recipe::Method kMethods[] = {Recipe::Method::Relu, Recipe::Method::ThresholdOnly, Recipe::Method::L1Only,
                                       Recipe::Method::Star};

QString number(double v, int decimals) { return std::isnan(v) ? QStringLiteral("–") : QString::number(v, 'f', decimals); }

} // namespace

ComparisonDialog::ComparisonDialog(Session *doc, QWidget *parent)
    : QDialog(parent), doc_(doc), run_(new QPushButton(tr("Run"), this)), cancel_(new QPushButton(tr("Cancel"), this)),
      apply_(new QPushButton(tr("Make Current"), this)), status_(new QLabel(this)), projection_(new QLabel(this)),
      table_(new QTableWidget(this)),
      plot_(new QCustomPlot(this))
{
    setWindowTitle(tr("Compare Methods"));
    auto *methodsRow = new QHBoxLayout;
    for (Recipe::Method m : kMethods) {
        auto *box = new QCheckBox(QString::fromUtf8(methodName(m)), this);
        box->setChecked(true);
        box->setProperty("method", int(m));
        methods_.push_back(box);
        methodsRow->addWidget(box);
    }
    methodsRow->addStretch(1);
    methodsRow->addWidget(run_);
    methodsRow->addWidget(cancel_);
    auto *note = new QLabel(tr("Each method fine-tunes a fresh copy of the model with the epochs and data of the recipe "
                               "in the Fine-Tuning panel, and is evaluated on the project's images."),
                            this);
    note->setWordWrap(true);
    status_->setWordWrap(true);

    const QStringList headers{tr("Method"),
                              tr("Top-1 %"),
                              tr("Δ vs ReLU (pp)"),
                              tr("Activation sparsity %"),
                              tr("Removed vs ReLU %"),
                              tr("Nonzeros / image"),
                              tr("Latency (µs)"),
                              tr("Energy / frame (µJ)")};
    table_->setColumnCount(int(headers.size()));
    table_->setHorizontalHeaderLabels(headers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    // Three charts side by side sharing the meaning of the vertical axis: top-1 against what each method saves.
    plot_->plotLayout()->addElement(0, 1, new QCPAxisRect(plot_));
    plot_->plotLayout()->addElement(0, 2, new QCPAxisRect(plot_));
    auto *margins = new QCPMarginGroup(plot_);
    const QString xLabels[] = {tr("Activations removed vs ReLU (%)"), tr("Projected latency (µs)"),
                               tr("Projected energy / frame (µJ)")};
    for (int r = 0; r < kCharts; ++r) {
        QCPAxisRect *rect = plot_->axisRect(r);
        rect->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
        rect->axis(QCPAxis::atBottom)->setLabel(xLabels[r]);
        rect->axis(QCPAxis::atLeft)->setLabel(tr("Top-1 (%)"));
        QCPGraph *graph = plot_->addGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
        graph->setLineStyle(QCPGraph::lsNone);
        graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, plotcolors::current(), 9));
    }
    stylePlot(plot_);
    plot_->setMinimumHeight(240);
    installPlotActions(plot_, [this] { return csv(); }, [] { return QStringLiteral("method-comparison"); });

    auto *split = new QSplitter(Qt::Vertical, this);
    split->addWidget(table_);
    split->addWidget(plot_);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    buttons->addButton(apply_, QDialogButtonBox::ActionRole);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(note);
    layout->addLayout(methodsRow);
    layout->addWidget(status_);
    layout->addWidget(split, 1);
    projection_->setWordWrap(true);
    layout->addWidget(projection_);
    layout->addWidget(buttons);
    resize(980, 640);

    connect(run_, &QPushButton::clicked, this, &ComparisonDialog::run);
    connect(cancel_, &QPushButton::clicked, doc_, &Session::cancelTraining);
    connect(apply_, &QPushButton::clicked, this, [this] {
        const int row = table_->currentRow();
        doc_->applyComparisonRow(row);
        if (row >= 0 && table_->item(row, 0))
            status_->setText(tr("%1 is now the current state (Edit ▸ Undo returns).").arg(table_->item(row, 0)->text()));
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(table_, &QTableWidget::itemSelectionChanged, this, &ComparisonDialog::updateButtons);
    connect(doc_, &Session::comparisonProgress, this, [this](int index, int count, const QString &method) {
        status_->setText(tr("Method %1 of %2: %3…").arg(index + 1).arg(count).arg(method));
    });
    connect(doc_->jobs(), &JobTracker::finished, this, [this](const JobReport &report) {
        if (report.kind != JobKind::Comparison)
            return;
        status_->setText(report.summary);
        fill();
        updateButtons();
    });
    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        if (e.kind == ChangeEvent::Kind::Model)
            updateButtons();
        // Another preset in the Hardware Projection view: the projection columns follow (edits of thresholds do not
        // touch them, so the selection stays).
        if (e.kind == ChangeEvent::Kind::Projection && doc_->presetIndex() != shownPreset_)
            fill();
    });
    fill();
    updateButtons();
}

QCheckBox *ComparisonDialog::methodBox(int method) const
{
    for (QCheckBox *b : methods_)
        if (b->property("method").toInt() == method)
            return b;
    return nullptr;
}

QString ComparisonDialog::statusText() const { return status_->text(); }

int ComparisonDialog::pointsPlotted(int chart) const
{
    return chart >= 0 && chart < plot_->graphCount() ? plot_->graph(chart)->dataCount() : 0;
}

double ComparisonDialog::projectedLatency(int row) const
{
    return row >= 0 && std::size_t(row) < latency_.size() ? latency_[std::size_t(row)] : std::nan("");
}

double ComparisonDialog::projectedEnergy(int row) const
{
    return row >= 0 && std::size_t(row) < energy_.size() ? energy_[std::size_t(row)] : std::nan("");
}

void ComparisonDialog::run()
{
    std::vector<Recipe::Method> methods;
    for (QCheckBox *b : methods_)
        if (b->isChecked())
            methods.push_back(Recipe::Method(b->property("method").toInt()));
    if (methods.empty()) {
        status_->setText(tr("Tick at least one method."));
        return;
    }
    Recipe star = doc_->recipe();
    star.method = Recipe::Method::Star;
    doc_->startComparison(star, methods);
    if (doc_->isTraining())
        status_->setText(tr("Starting…"));
    updateButtons();
}

void ComparisonDialog::fill()
{
    const int selected = table_->currentRow();
    table_->setRowCount(0);
    plot_->clearItems();
    for (int g = 0; g < plot_->graphCount(); ++g)
        plot_->graph(g)->data()->clear();
    latency_.clear();
    energy_.clear();
    shownPreset_ = doc_->presetIndex();
    const auto outcome = doc_->lastComparison();
    if (!outcome) {
        plot_->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const auto &presets = doc_->presets();
    const PresetEntry *preset = shownPreset_ >= 0 && std::size_t(shownPreset_) < presets.size() &&
                                        presets[std::size_t(shownPreset_)].valid
                                    ? &presets[std::size_t(shownPreset_)]
                                    : nullptr;
    projection_->setText(preset ? tr("Latency and energy per frame: projected on %1, the preset of the Hardware "
                                     "Projection view (model estimates, docs/processor-model.md).")
                                      .arg(QString::fromStdString(preset->params.name))
                                : tr("No valid processor preset: choose one in the Hardware Projection view to see "
                                     "projected latency and energy."));
    const auto &rows = outcome->comparison.methods;
    table_->setRowCount(int(rows.size()));
    QVector<double> xs[kCharts], ys[kCharts]; // points without a projection (no valid preset) are left out
    std::vector<std::pair<QCPItemText *, int>> labels; // with their chart
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const MethodOutcome &o = rows[i];
        // The hardware view's projection, on this method's measured workload.
        const double nan = std::numeric_limits<double>::quiet_NaN();
        double latency = nan, energy = nan;
        if (preset && !o.workload.layers.empty()) {
            const Evaluation e = evaluate(preset->params, o.workload);
            latency = e.latencySeconds;
            energy = e.energyPerFrameJ;
        }
        latency_.push_back(latency);
        energy_.push_back(energy);
        const QString name = QString::fromUtf8(methodName(o.method));
        const QStringList cells{name,
                                number(o.top1, 2),
                                number(o.top1DeltaPp, 2),
                                number(100.0 * o.activationSparsity, 1),
                                number(100.0 * o.removedVsRelu, 1),
                                number(o.nonzerosPerImage, 0),
                                number(latency * 1e6, 2),
                                number(energy * 1e6, 3)};
        for (int c = 0; c < cells.size(); ++c) {
            auto *item = new QTableWidgetItem(cells[c]);
            if (c > 0)
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            table_->setItem(int(i), c, item);
        }
        const double x[kCharts] = {std::isnan(o.removedVsRelu) ? 100.0 * o.activationSparsity : 100.0 * o.removedVsRelu,
                             latency * 1e6, energy * 1e6};
        for (int r = 0; r < kCharts; ++r) {
            if (std::isnan(x[r]))
                continue;
            xs[r] << x[r];
            ys[r] << o.top1;
            auto *label = new QCPItemText(plot_);
            label->setClipAxisRect(plot_->axisRect(r));
            label->position->setAxes(plot_->axisRect(r)->axis(QCPAxis::atBottom), plot_->axisRect(r)->axis(QCPAxis::atLeft));
            label->position->setCoords(x[r], o.top1);
            label->setPadding(QMargins(6, 0, 6, 4));
            label->setText(name);
            label->setColor(plot_->xAxis->labelColor());
            labels.emplace_back(label, r);
        }
    }
    for (int r = 0; r < kCharts; ++r) {
        QCPGraph *graph = plot_->graph(r);
        graph->setData(xs[r], ys[r], false);
        graph->rescaleAxes();
        graph->keyAxis()->scaleRange(1.3);
        graph->valueAxis()->scaleRange(1.3);
    }
    // Names grow towards the middle of their chart, so those of the outermost points stay inside it.
    for (const auto &[label, r] : labels) {
        const bool right = label->position->key() > plot_->graph(r)->keyAxis()->range().center();
        label->setPositionAlignment(Qt::AlignBottom | (right ? Qt::AlignRight : Qt::AlignLeft));
    }
    if (selected >= 0 && selected < table_->rowCount())
        table_->selectRow(selected);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ComparisonDialog::updateButtons()
{
    const bool busy = doc_->isTraining();
    run_->setEnabled(!busy && doc_->hasModel() && doc_->hasDataset());
    cancel_->setEnabled(busy);
    apply_->setEnabled(!busy && doc_->lastComparison() && table_->currentRow() >= 0 &&
                       std::size_t(table_->currentRow()) < doc_->lastComparison()->models.size());
}

QString ComparisonDialog::csv() const
{
    QString out;
    for (int c = 0; c < table_->columnCount(); ++c)
        out += (c ? QStringLiteral(",") : QString()) + table_->horizontalHeaderItem(c)->text();
    out += QLatin1Char('\n');
    for (int r = 0; r < table_->rowCount(); ++r) {
        for (int c = 0; c < table_->columnCount(); ++c)
            out += (c ? QStringLiteral(",") : QString()) + table_->item(r, c)->text();
        out += QLatin1Char('\n');
    }
    return out;
}

} // namespace sparsity::ui
