#include "sweepview.h"

#include "error.h"
#include "io/outputpaths.h"
#include "io/sweepreport.h"
#include "jobtracker.h"
#include "plotutil.h"
#include "session.h"
#include "tune/sweep.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMouseEvent>
#include <QPushButton>
#include <QSpinBox>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace sparsity::ui {

namespace {

constexpr int kCharts = 2;
// Graphs per chart, in this order.
enum Graph { Points, Front, Baseline, Highlight, kGraphs };
constexpr double kHitPixels = 10.0;

const char *kDefaultBudgets = "0.25, 0.5, 1, 2, 4";
const char *kDefaultTargets = "0.6, 0.7, 0.8, 0.9, 0.95";

// The cost chart's x value of a point: microseconds or microjoules; NaN without a projection.
double costOf(const SweepPoint &p, int costIndex)
{
    const auto &v = costIndex == 0 ? p.latencySeconds : p.energyPerFrameJ;
    return v ? *v * 1e6 : std::nan("");
}

double xOf(const SweepPoint &p, int chart, int costIndex)
{
    return chart == 0 ? p.nonzerosPerImage : costOf(p, costIndex);
}

} // namespace

SweepView::SweepView(Session *doc, QWidget *parent)
    : QWidget(parent), doc_(doc), rule_(new QComboBox(this)), cost_(new QComboBox(this)), values_(new QLineEdit(this)),
      calibration_(new QSpinBox(this)), run_(new QPushButton(tr("Sweep"), this)),
      cancel_(new QPushButton(tr("Stop"), this)), status_(new QLabel(this)), plot_(new QCustomPlot(this))
{
    rule_->addItem(tr("Budgets (pp)"));
    rule_->addItem(tr("Target sparsities"));
    rule_->setToolTip(tr("Search: the threshold search of Analysis ▸ Threshold Search for each budget.\n"
                         "Quantile: every site's threshold removes that share of its values (no search)."));
    values_->setText(QString::fromLatin1(kDefaultBudgets));
    values_->setToolTip(tr("Values separated by commas or spaces"));
    calibration_->setRange(50, 10000);
    calibration_->setValue(500);
    calibration_->setPrefix(tr("calibration: "));
    calibration_->setToolTip(tr("From the end of the dataset's training split (held out from the evaluated images)"));
    cost_->addItem(tr("Latency"));
    cost_->addItem(tr("Energy"));
    auto *save = new QPushButton(tr("Save CSV…"), this);
    cancel_->setEnabled(false);
    // Two short rows and a status line that wraps: the dock shares a tab with the Feature Maps and must fit a
    // 1366×768 screen (tests/tst_layout.cpp).
    rule_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    rule_->setMinimumContentsLength(12);
    values_->setMinimumWidth(80);
    auto *controls = new QHBoxLayout;
    controls->addWidget(rule_);
    controls->addWidget(values_, 1);
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(calibration_);
    bottom->addWidget(run_);
    bottom->addWidget(cancel_);
    bottom->addStretch(1);
    auto *output = new QHBoxLayout;
    output->addWidget(new QLabel(tr("Cost:"), this));
    output->addWidget(cost_);
    output->addStretch(1);
    output->addWidget(save);
    status_->setWordWrap(true);
    status_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

    plot_->plotLayout()->addElement(0, 1, new QCPAxisRect(plot_));
    auto *margins = new QCPMarginGroup(plot_);
    for (int c = 0; c < kCharts; ++c) {
        QCPAxisRect *rect = plot_->axisRect(c);
        rect->setMarginGroup(QCP::msTop | QCP::msBottom, margins);
        rect->axis(QCPAxis::atLeft)->setLabel(tr("Top-1 (%)"));
        rect->axis(QCPAxis::atBottom)->ticker()->setTickCount(4); // the charts share a dock: few, readable labels
        for (int g = 0; g < kGraphs; ++g) {
            QCPGraph *graph = plot_->addGraph(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
            graph->setLineStyle(g == Front ? QCPGraph::lsLine : QCPGraph::lsNone);
            graph->setPen(QPen(plotcolors::current(), 1.5));
        }
        plot_->graph(c * kGraphs + Points)->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, plotcolors::current(), 8));
        plot_->graph(c * kGraphs + Front)->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, plotcolors::current(), 8));
        plot_->graph(c * kGraphs + Baseline)
            ->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, plotcolors::baseline(), plotcolors::baseline(), 9));
        plot_->graph(c * kGraphs + Highlight)
            ->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(plotcolors::threshold(), 2.5), Qt::NoBrush, 16));
    }
    plot_->axisRect(0)->axis(QCPAxis::atBottom)->setLabel(tr("Nonzero activations / image"));
    stylePlot(plot_);
    plot_->setMinimumSize(160, 90);
    plot_->setMouseTracking(true);
    installPlotActions(plot_, [this] { return csv(); }, [] { return QStringLiteral("sweep"); });

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addLayout(bottom);
    layout->addWidget(plot_, 1);
    layout->addLayout(output);
    layout->addWidget(status_);
    setStatus(tr("Choose budgets or target sparsities and press Sweep: each point is evaluated exactly on the "
                 "project's images. Click a point to make its thresholds current."));

    connect(rule_, &QComboBox::currentIndexChanged, this, [this](int index) {
        values_->setText(QString::fromLatin1(index == 0 ? kDefaultBudgets : kDefaultTargets));
    });
    connect(cost_, &QComboBox::currentIndexChanged, this, &SweepView::fill);
    connect(run_, &QPushButton::clicked, this, &SweepView::run);
    connect(values_, &QLineEdit::returnPressed, this, &SweepView::run);
    connect(cancel_, &QPushButton::clicked, this, [this] { doc_->jobs()->requestStop(JobKind::Sweep); });
    connect(save, &QPushButton::clicked, this, [this] {
        if (!doc_->lastSweep())
            return setStatus(tr("Nothing to save yet: run a sweep first."));
        const QString path = QFileDialog::getSaveFileName(this, tr("Save Sweep as CSV"), QStringLiteral("sweep.csv"),
                                                          tr("CSV files (*.csv)"));
        if (path.isEmpty())
            return;
        try {
            writeFileAtomically(path.toStdString(), csv().toStdString());
            setStatus(tr("Saved %1").arg(QDir::toNativeSeparators(path)));
        } catch (const std::exception &e) {
            setStatus(QString::fromUtf8(e.what()));
        }
    });
    connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent *event) {
        const int index = pointAt(event->pos());
        highlight(index);
        if (index < 0) {
            QToolTip::hideText();
            return;
        }
        const auto &r = *doc_->lastSweep();
        const SweepPoint &p = r.points[std::size_t(index)];
        QString text = tr("%1\ntop-1 %2 % (%3 pp)\n%4 nonzeros / image (%5 % removed)")
                           .arg(r.rule == SweepOptions::Rule::Search ? tr("Point %1: budget %2 pp").arg(index + 1).arg(p.value)
                                                                     : tr("Point %1: target sparsity %2 %").arg(index + 1).arg(100.0 * p.value))
                           .arg(p.score, 0, 'f', 2)
                           .arg(p.score - r.baseline.score, 0, 'f', 2)
                           .arg(compactCount(p.nonzerosPerImage))
                           .arg(r.baseline.nonzerosPerImage > 0 ? 100.0 * (1.0 - p.nonzerosPerImage / r.baseline.nonzerosPerImage) : 0.0, 0, 'f', 1);
        if (p.latencySeconds && p.energyPerFrameJ)
            text += tr("\nlatency %1 µs, energy %2 µJ / frame").arg(*p.latencySeconds * 1e6, 0, 'f', 1).arg(*p.energyPerFrameJ * 1e6, 0, 'f', 2);
        text += p.pareto ? tr("\non the front — click to use") : tr("\nclick to use");
        QToolTip::showText(event->globalPosition().toPoint(), text, plot_);
    });
    connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent *event) {
        if (event->button() != Qt::LeftButton)
            return;
        const int index = pointAt(event->pos());
        if (index < 0)
            return;
        doc_->applySweepPoint(index);
        setStatus(tr("Point %1's thresholds are current (Edit ▸ Undo returns).").arg(index + 1));
    });
    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        if (e.kind == ChangeEvent::Kind::Sweep || e.kind == ChangeEvent::Kind::Model || e.kind == ChangeEvent::Kind::Projection)
            fill();
    });
    connect(doc_->jobs(), &JobTracker::started, this, [this](JobKind kind) {
        if (kind == JobKind::Sweep) {
            cancel_->setEnabled(true);
            setStatus(tr("Sweeping… (the status bar shows the progress)"));
        }
    });
    connect(doc_->jobs(), &JobTracker::finished, this, [this](const JobReport &report) {
        if (report.kind != JobKind::Sweep)
            return;
        cancel_->setEnabled(false);
        if (!report.error.isEmpty())
            setStatus(tr("The sweep failed: %1").arg(report.error));
        else if (report.cancelled())
            setStatus(report.summary.isEmpty() ? tr("Sweep stopped before its first point.")
                                               : tr("Stopped; the finished points: ") + report.summary);
        else
            setStatus(report.summary + tr(". Hover a point for its figures; click it to use its thresholds."));
    });
    fill();
}

void SweepView::setStatus(const QString &text)
{
    status_->setText(text);
}

QString SweepView::statusText() const
{
    return status_->text();
}

void SweepView::run()
{
    SweepOptions options;
    options.rule = rule_->currentIndex() == 0 ? SweepOptions::Rule::Search : SweepOptions::Rule::Quantile;
    for (const QString &part : values_->text().split(QRegularExpression(QStringLiteral("[,;\\s]+")), Qt::SkipEmptyParts)) {
        bool ok = false;
        const double v = part.toDouble(&ok);
        if (!ok)
            return setStatus(tr("\"%1\" is not a number.").arg(part));
        options.values.push_back(v);
    }
    std::sort(options.values.begin(), options.values.end());
    if (!doc_->baseline())
        return setStatus(tr("The sweep needs a model, a dataset and a finished baseline capture."));
    try {
        checkSweepValues(options.rule, options.values, options.rule == SweepOptions::Rule::Search ? "Budgets" : "Targets");
        doc_->startSweep(options, std::size_t(calibration_->value()));
    } catch (const Error &e) {
        setStatus(QString::fromUtf8(e.what()));
    }
}

void SweepView::fill()
{
    highlighted_ = -1;
    const auto sweep = doc_->lastSweep();
    const int costIndex = cost_->currentIndex();
    plot_->axisRect(1)->axis(QCPAxis::atBottom)->setLabel(costIndex == 0 ? tr("Projected latency (µs)")
                                                                         : tr("Projected energy / frame (µJ)"));
    for (int c = 0; c < kCharts; ++c) {
        QVector<double> x, y, fx, fy;
        std::vector<std::pair<double, double>> front;
        if (sweep)
            for (const SweepPoint &p : sweep->points) {
                const double px = xOf(p, c, costIndex);
                if (std::isnan(px))
                    continue;
                x << px;
                y << p.score;
                if (p.pareto)
                    front.emplace_back(px, p.score);
            }
        std::sort(front.begin(), front.end());
        for (const auto &[px, py] : front)
            fx << px, fy << py;
        plot_->graph(c * kGraphs + Points)->setData(x, y);
        plot_->graph(c * kGraphs + Front)->setData(fx, fy, true);
        QVector<double> bx, by;
        if (sweep && !std::isnan(xOf(sweep->baseline, c, costIndex)))
            bx << xOf(sweep->baseline, c, costIndex), by << sweep->baseline.score;
        plot_->graph(c * kGraphs + Baseline)->setData(bx, by);
        plot_->graph(c * kGraphs + Highlight)->data()->clear();
        plot_->axisRect(c)->axis(QCPAxis::atBottom)->rescale();
        plot_->axisRect(c)->axis(QCPAxis::atBottom)->scaleRange(1.15);
    }
    // One top-1 range for both charts: a point sits at the same height in each.
    QCPRange top1;
    bool found = false;
    for (int c = 0; c < kCharts; ++c) {
        bool ok = false;
        for (int g : {Points, Baseline}) {
            const QCPRange r = plot_->graph(c * kGraphs + g)->data()->valueRange(ok);
            if (ok)
                top1 = found ? QCPRange(std::min(top1.lower, r.lower), std::max(top1.upper, r.upper)) : r, found = true;
        }
    }
    for (int c = 0; c < kCharts; ++c) {
        QCPAxis *axis = plot_->axisRect(c)->axis(QCPAxis::atLeft);
        axis->setRange(found ? top1 : QCPRange(0, 100));
        if (found)
            axis->scaleRange(1.2);
    }
    plot_->replot();
}

void SweepView::highlight(int index)
{
    if (index == highlighted_)
        return;
    highlighted_ = index;
    const auto sweep = doc_->lastSweep();
    for (int c = 0; c < kCharts; ++c) {
        QVector<double> x, y;
        if (sweep && index >= 0) {
            const SweepPoint &p = sweep->points[std::size_t(index)];
            const double px = xOf(p, c, cost_->currentIndex());
            if (!std::isnan(px))
                x << px, y << p.score;
        }
        plot_->graph(c * kGraphs + Highlight)->setData(x, y);
    }
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

QPointF SweepView::pointPosition(int chart, int index) const
{
    const auto sweep = doc_->lastSweep();
    if (!sweep || index < 0 || std::size_t(index) >= sweep->points.size() || chart < 0 || chart >= kCharts)
        return QPointF(-1, -1);
    const SweepPoint &p = sweep->points[std::size_t(index)];
    const double px = xOf(p, chart, cost_->currentIndex());
    if (std::isnan(px))
        return QPointF(-1, -1);
    const QCPAxisRect *rect = plot_->axisRect(chart);
    return {rect->axis(QCPAxis::atBottom)->coordToPixel(px), rect->axis(QCPAxis::atLeft)->coordToPixel(p.score)};
}

int SweepView::pointAt(const QPoint &pos) const
{
    const auto sweep = doc_->lastSweep();
    if (!sweep)
        return -1;
    int best = -1;
    double bestDistance = kHitPixels;
    for (int c = 0; c < kCharts; ++c)
        for (int i = 0; i < int(sweep->points.size()); ++i) {
            const QPointF at = pointPosition(c, i);
            if (at.x() < 0)
                continue;
            const double d = std::hypot(at.x() - pos.x(), at.y() - pos.y());
            if (d <= bestDistance)
                bestDistance = d, best = i;
        }
    return best;
}

int SweepView::pointsPlotted() const
{
    return plot_->graph(Points)->dataCount();
}

QString SweepView::csv() const
{
    const auto sweep = doc_->lastSweep();
    if (!sweep)
        return {};
    return report::sweepCsv(*sweep);
}

} // namespace sparsity::ui
