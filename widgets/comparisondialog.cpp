#include "comparisondialog.h"

#include "comparison.h"
#include "document.h"
#include "plotutil.h"

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

namespace sparsity::ui {

namespace {

constexpr Recipe::Method kMethods[] = {Recipe::Method::Relu, Recipe::Method::ThresholdOnly, Recipe::Method::L1Only,
                                       Recipe::Method::Star};

QString number(double v, int decimals) { return std::isnan(v) ? QStringLiteral("–") : QString::number(v, 'f', decimals); }

} // namespace

ComparisonDialog::ComparisonDialog(Document *doc, QWidget *parent)
    : QDialog(parent), doc_(doc), run_(new QPushButton(tr("Run"), this)), cancel_(new QPushButton(tr("Cancel"), this)),
      apply_(new QPushButton(tr("Make Current"), this)), status_(new QLabel(this)), table_(new QTableWidget(this)),
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

    const QStringList headers{tr("Method"), tr("Top-1 %"), tr("Δ vs ReLU (pp)"), tr("Activation sparsity %"),
                              tr("Removed vs ReLU %"), tr("Nonzeros / image")};
    table_->setColumnCount(int(headers.size()));
    table_->setHorizontalHeaderLabels(headers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    stylePlot(plot_);
    plot_->setMinimumHeight(220);
    plot_->xAxis->setLabel(tr("Activations removed vs ReLU (%)"));
    plot_->yAxis->setLabel(tr("Top-1 (%)"));
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
    layout->addWidget(buttons);
    resize(760, 620);

    connect(run_, &QPushButton::clicked, this, &ComparisonDialog::run);
    connect(cancel_, &QPushButton::clicked, doc_, &Document::cancelTraining);
    connect(apply_, &QPushButton::clicked, this, [this] {
        const int row = table_->currentRow();
        doc_->applyComparisonRow(row);
        if (row >= 0 && table_->item(row, 0))
            status_->setText(tr("%1 is now the current state (Edit ▸ Undo returns).").arg(table_->item(row, 0)->text()));
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(table_, &QTableWidget::itemSelectionChanged, this, &ComparisonDialog::updateButtons);
    connect(doc_, &Document::comparisonProgress, this, [this](int index, int count, const QString &method) {
        status_->setText(tr("Method %1 of %2: %3…").arg(index + 1).arg(count).arg(method));
    });
    connect(doc_, &Document::comparisonFinished, this, [this](bool, const QString &summary) {
        status_->setText(summary);
        fill();
        updateButtons();
    });
    connect(doc_, &Document::modelChanged, this, &ComparisonDialog::updateButtons);
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

int ComparisonDialog::pointsPlotted() const { return plot_->graphCount() ? plot_->graph(0)->dataCount() : 0; }

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
    table_->setRowCount(0);
    plot_->clearPlottables();
    plot_->clearItems();
    const auto outcome = doc_->lastComparison();
    if (!outcome) {
        plot_->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const auto &rows = outcome->comparison.methods;
    table_->setRowCount(int(rows.size()));
    QVector<double> xs, ys;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const MethodOutcome &o = rows[i];
        const QString name = QString::fromUtf8(methodName(o.method));
        const QStringList cells{name,
                                number(o.top1, 2),
                                number(o.top1DeltaPp, 2),
                                number(100.0 * o.activationSparsity, 1),
                                number(100.0 * o.removedVsRelu, 1),
                                number(o.nonzerosPerImage, 0)};
        for (int c = 0; c < cells.size(); ++c) {
            auto *item = new QTableWidgetItem(cells[c]);
            if (c > 0)
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            table_->setItem(int(i), c, item);
        }
        const double x = std::isnan(o.removedVsRelu) ? 100.0 * o.activationSparsity : 100.0 * o.removedVsRelu;
        xs << x;
        ys << o.top1;
        auto *label = new QCPItemText(plot_);
        label->position->setCoords(x, o.top1);
        label->setPositionAlignment(Qt::AlignBottom | Qt::AlignHCenter);
        label->setText(name);
        label->setColor(plot_->xAxis->labelColor());
    }
    QCPGraph *graph = plot_->addGraph();
    graph->setLineStyle(QCPGraph::lsNone);
    graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, plotcolors::current(), 9));
    graph->setData(xs, ys, false);
    graph->rescaleAxes();
    plot_->xAxis->scaleRange(1.3);
    plot_->yAxis->scaleRange(1.3);
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
