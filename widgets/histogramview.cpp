#include "histogramview.h"

#include "session.h"
#include "capture/loghistogram.h"
#include "plotutil.h"
#include "graph/site.h"
#include "capture/sitestats.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <cmath>

namespace sparsity::ui {

namespace {

constexpr double kLogFloor = 1e-5; // % per bin shown at the bottom of a log y axis

struct Series {
    QVector<double> keys, values;
};

// Step series over the bins that hold values, as % of all elements (zeros included), closed at the last edge.
Series histogramSeries(const SiteStats &s, bool logY)
{
    Series out;
    const auto &h = s.positive;
    int first = -1, last = -1;
    for (int b = 0; b < LogHistogram::kBinCount; ++b)
        if (h.count(b) > 0) {
            if (first < 0)
                first = b;
            last = b;
        }
    if (first < 0 || s.elements == 0)
        return out;
    first = std::max(first, 1);
    last = std::min(last, LogHistogram::kBinCount - 2);
    for (int b = first; b <= last; ++b) {
        const double v = 100.0 * double(h.count(b)) / double(s.elements);
        out.keys << LogHistogram::lowerEdge(b);
        out.values << (logY ? std::max(v, kLogFloor) : v);
    }
    out.keys << LogHistogram::upperEdge(last);
    out.values << out.values.last();
    return out;
}

QString pct(double f) { return QStringLiteral("%1 %").arg(100.0 * f, 0, 'f', 1); }

} // namespace

HistogramView::HistogramView(Session *doc, QWidget *parent)
    : QWidget(parent), doc_(doc), plot_(new QCustomPlot(this)), logX_(new QCheckBox(tr("Log x"), this)),
      logY_(new QCheckBox(tr("Log y"), this)), title_(new QLabel(this))
{
    logX_->setChecked(true);
    title_->setTextFormat(Qt::RichText);
    auto *top = new QHBoxLayout;
    top->addWidget(title_, 1);
    top->addWidget(logX_);
    top->addWidget(logY_);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    layout->addWidget(plot_, 1);

    plot_->addLayer(QStringLiteral("marker"), nullptr, QCustomPlot::limAbove);
    plot_->layer(QStringLiteral("marker"))->setMode(QCPLayer::lmBuffered); // moving the line redraws only it
    baseline_ = plot_->addGraph();
    baseline_->setName(tr("baseline"));
    baseline_->setLineStyle(QCPGraph::lsStepLeft);
    QColor b = plotcolors::baseline();
    baseline_->setPen(QPen(b, 1.2));
    b.setAlphaF(0.30f);
    baseline_->setBrush(b);
    current_ = plot_->addGraph();
    current_->setName(tr("current"));
    current_->setLineStyle(QCPGraph::lsStepLeft);
    QColor c = plotcolors::current();
    current_->setPen(QPen(c, 1.6));
    c.setAlphaF(0.22f);
    current_->setBrush(c);
    plot_->legend->setVisible(true);
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignVCenter | Qt::AlignLeft);
    plot_->xAxis->setLabel(tr("activation value (positive)"));
    plot_->yAxis->setLabel(tr("% of all values per bin"));

    line_ = new QCPItemStraightLine(plot_);
    line_->setLayer(QStringLiteral("marker"));
    line_->setPen(QPen(plotcolors::threshold(), 2));
    line_->setSelectable(false);
    lineText_ = new QCPItemText(plot_);
    lineText_->setLayer(QStringLiteral("marker"));
    lineText_->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    lineText_->setColor(plotcolors::threshold());
    lineText_->setPadding(QMargins(6, 2, 6, 2));
    zeroText_ = new QCPItemText(plot_);
    zeroText_->setLayer(QStringLiteral("marker"));
    zeroText_->position->setType(QCPItemPosition::ptAxisRectRatio);
    zeroText_->position->setCoords(0.01, 0.02);
    zeroText_->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    zeroText_->setTextAlignment(Qt::AlignLeft);
    zeroText_->setPadding(QMargins(8, 5, 8, 5));
    zeroText_->setPen(QPen(plotcolors::zero(), 1));
    zeroText_->setColor(palette().color(QPalette::WindowText));
    QColor zb = palette().color(QPalette::Base);
    zb.setAlphaF(0.85f);
    zeroText_->setBrush(zb);

    setLogX(true);
    stylePlot(plot_);
    plot_->installEventFilter(this);
    plot_->setMouseTracking(true);
    installPlotActions(
        plot_, [this] { return csv(); },
        [this] {
            return site_ >= 0 ? QStringLiteral("histogram-") + QString::fromStdString(doc_->sites()[std::size_t(site_)].name)
                              : QStringLiteral("histogram");
        });

    connect(logX_, &QCheckBox::toggled, this, [this](bool on) { setLogX(on); rebuild(); });
    connect(logY_, &QCheckBox::toggled, this, [this](bool on) { setLogY(on); rebuild(); });
    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        switch (e.kind) {
        case ChangeEvent::Kind::SelectedSite:
        case ChangeEvent::Kind::Model:
        case ChangeEvent::Kind::Baseline:
        case ChangeEvent::Kind::Current: rebuild(); break;
        case ChangeEvent::Kind::Thresholds:
            if (e.sites.contains(site_))
                updateMarker();
            break;
        default: break;
        }
    });
    rebuild();
}

void HistogramView::setLogX(bool log)
{
    if (log) {
        plot_->xAxis->setScaleType(QCPAxis::stLogarithmic);
        QSharedPointer<QCPAxisTickerLog> ticker(new QCPAxisTickerLog);
        ticker->setSubTickCount(8);
        plot_->xAxis->setTicker(ticker);
        plot_->xAxis->setNumberFormat(QStringLiteral("eb"));
        plot_->xAxis->setNumberPrecision(0);
    } else {
        plot_->xAxis->setScaleType(QCPAxis::stLinear);
        plot_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        plot_->xAxis->setNumberFormat(QStringLiteral("g"));
        plot_->xAxis->setNumberPrecision(3);
    }
}

void HistogramView::setLogY(bool log)
{
    if (log) {
        plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog));
        plot_->yAxis->setNumberFormat(QStringLiteral("eb"));
        plot_->yAxis->setNumberPrecision(0);
    } else {
        plot_->yAxis->setScaleType(QCPAxis::stLinear);
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        plot_->yAxis->setNumberFormat(QStringLiteral("g"));
        plot_->yAxis->setNumberPrecision(3);
    }
}

void HistogramView::rebuild()
{
    site_ = doc_->selectedSite();
    baseline_->data()->clear();
    current_->data()->clear();
    const auto base = doc_->baseline();
    const auto cur = doc_->current();
    const bool valid = site_ >= 0 && site_ < doc_->siteCount() && base;
    if (!valid) {
        title_->setText(site_ < 0 ? tr("<i>Select a site in the Layers table</i>")
                                  : tr("<i>Waiting for the baseline capture…</i>"));
        line_->setVisible(false);
        lineText_->setVisible(false);
        zeroText_->setVisible(false);
        plot_->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const Site &site = doc_->sites()[std::size_t(site_)];
    title_->setText(tr("<b>%1</b> &nbsp;<span style='color:gray'>%2 · %3 values per image%4</span>")
                        .arg(QString::fromStdString(site.name).toHtmlEscaped(), QString::fromStdString(site.op))
                        .arg(site.elementsPerImage)
                        .arg(site.sparsifiable ? QString() : tr(" · dense: ") + QString::fromStdString(site.denseReason)));
    const bool logY = logY_->isChecked();
    const SiteStats &bs = base->result.sites[std::size_t(site_)];
    Series b = histogramSeries(bs, logY);
    baseline_->setData(b.keys, b.values, true);
    double lo = b.keys.isEmpty() ? 1e-3 : b.keys.first();
    double hi = b.keys.isEmpty() ? 1.0 : b.keys.last();
    double top = 0.0;
    for (double v : b.values)
        top = std::max(top, v);
    const bool showCurrent = cur && cur != base;
    current_->setVisible(showCurrent);
    current_->removeFromLegend();
    if (showCurrent) {
        current_->addToLegend();
        Series c = histogramSeries(cur->result.sites[std::size_t(site_)], logY);
        current_->setData(c.keys, c.values, true);
        for (double v : c.values)
            top = std::max(top, v);
        if (!c.keys.isEmpty()) {
            lo = std::min(lo, c.keys.first());
            hi = std::max(hi, c.keys.last());
        }
    }
    if (!logX_->isChecked())
        lo = 0.0;
    plot_->xAxis->setRange(logX_->isChecked() ? lo / 1.5 : lo, hi * (logX_->isChecked() ? 1.5 : 1.02));
    plot_->yAxis->setRange(logY ? kLogFloor : 0.0, logY ? std::max(top * 3.0, 1e-3) : std::max(top * 1.15, 1e-3));
    updateMarker();
}

void HistogramView::updateMarker()
{
    const auto base = doc_->baseline();
    if (site_ < 0 || !base) {
        plot_->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const Site &site = doc_->sites()[std::size_t(site_)];
    const double t = doc_->siteValue(SiteField::Threshold, site_);
    const double shownAt = std::max(t, plot_->xAxis->range().lower);
    line_->setVisible(site.sparsifiable);
    lineText_->setVisible(site.sparsifiable);
    line_->point1->setCoords(shownAt, 0.0);
    line_->point2->setCoords(shownAt, 1.0);
    bool estimate = false;
    const double sparsity = doc_->currentSparsity(site_, &estimate);
    lineText_->position->setType(QCPItemPosition::ptPlotCoords);
    lineText_->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    lineText_->position->setCoords(shownAt, 0.16);
    // Keep the label inside the plot: on the line's left when the line is in the right half.
    const bool rightHalf = plot_->xAxis->coordToPixel(shownAt) > plot_->axisRect()->center().x();
    lineText_->setPositionAlignment((rightHalf ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
    lineText_->setTextAlignment(rightHalf ? Qt::AlignRight : Qt::AlignLeft);
    lineText_->setText(t > 0.0 ? tr("threshold %1\nsparsity %2%3").arg(t, 0, 'g', 3).arg(pct(sparsity), estimate ? tr(" (estimate)") : QString())
                               : tr("threshold 0 (plain ReLU)\ndrag to raise"));
    const SiteStats &bs = base->result.sites[std::size_t(site_)];
    QString zeros = tr("Exact zeros: %1 baseline").arg(pct(bs.sparsity()));
    if (sparsity >= 0.0 && site.sparsifiable)
        zeros += tr(" → %1 current%2").arg(pct(sparsity), estimate ? tr(" (estimate)") : QString());
    if (bs.negatives > 0)
        zeros += tr("\nNegative values: %1 (not shown)").arg(pct(double(bs.negatives) / double(std::max<std::int64_t>(1, bs.elements))));
    zeroText_->setText(zeros);
    zeroText_->setVisible(true);
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

void HistogramView::dragThresholdTo(double value, int mergeSession)
{
    if (site_ < 0 || !doc_->sites()[std::size_t(site_)].sparsifiable)
        return;
    // Dragging to the left edge of a log axis means "no threshold".
    const double lower = plot_->xAxis->range().lower;
    const double t = (value <= lower * 1.02 || value < 0.0) ? 0.0 : value;
    doc_->pushSiteValue(SiteField::Threshold, site_, float(t), mergeSession);
}

QWidget *HistogramView::plotWidget() const { return plot_; }
QRect HistogramView::plotArea() const { return plot_->axisRect()->rect(); }
double HistogramView::valueAtPixel(int x) const { return plot_->xAxis->pixelToCoord(x); }

int HistogramView::thresholdPixel() const
{
    if (!line_->visible())
        return -1;
    return int(std::lround(plot_->xAxis->coordToPixel(line_->point1->coords().x())));
}

bool HistogramView::eventFilter(QObject *watched, QEvent *event)
{
    if (watched != plot_)
        return QWidget::eventFilter(watched, event);
    auto nearLine = [this](const QPoint &p) {
        const int x = thresholdPixel();
        return x >= 0 && std::abs(p.x() - x) <= 6 && plot_->axisRect()->rect().contains(p);
    };
    switch (event->type()) {
    case QEvent::MouseButtonPress: {
        auto *e = static_cast<QMouseEvent *>(event);
        if (e->button() == Qt::LeftButton && nearLine(e->position().toPoint())) {
            dragSession_ = doc_->newMergeSession();
            return true;
        }
        break;
    }
    case QEvent::MouseMove: {
        auto *e = static_cast<QMouseEvent *>(event);
        if (dragSession_) {
            dragThresholdTo(plot_->xAxis->pixelToCoord(e->position().x()), dragSession_);
            return true;
        }
        plot_->setCursor(nearLine(e->position().toPoint()) ? Qt::SizeHorCursor : Qt::ArrowCursor);
        break;
    }
    case QEvent::MouseButtonRelease:
        if (dragSession_) {
            dragSession_ = 0;
            return true;
        }
        break;
    default: break;
    }
    return QWidget::eventFilter(watched, event);
}

QString HistogramView::csv() const
{
    QString out = QStringLiteral("site,capture,bin_lower,bin_upper,count,fraction_of_all\n");
    if (site_ < 0)
        return out;
    const QString name = QString::fromStdString(doc_->sites()[std::size_t(site_)].name);
    auto rows = [&](const char *label, const std::shared_ptr<const Snapshot> &snap) {
        if (!snap)
            return;
        const SiteStats &s = snap->result.sites[std::size_t(site_)];
        const QString l = QString::fromLatin1(label);
        out += QStringLiteral("%1,%2,0,0,%3,%4\n").arg(name, l).arg(s.zeros).arg(s.elements ? double(s.zeros) / double(s.elements) : 0.0);
        for (int b = 0; b < LogHistogram::kBinCount; ++b)
            if (s.positive.count(b))
                out += QStringLiteral("%1,%2,%3,%4,%5,%6\n")
                           .arg(name, l)
                           .arg(LogHistogram::lowerEdge(b), 0, 'g', 9)
                           .arg(LogHistogram::upperEdge(b), 0, 'g', 9)
                           .arg(s.positive.count(b))
                           .arg(double(s.positive.count(b)) / double(s.elements), 0, 'g', 9);
    };
    rows("baseline", doc_->baseline());
    if (doc_->current() != doc_->baseline())
        rows("current", doc_->current());
    return out;
}

} // namespace sparsity::ui
