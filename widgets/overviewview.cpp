#include "overviewview.h"

#include "session.h"
#include "plotutil.h"
#include "graph/site.h"

#include <qcustomplot.h>

#include <QLabel>
#include <QVBoxLayout>

#include <cmath>

namespace sparsity::ui {

namespace {

// Segmentation datasets are scored by mean IoU, classifiers by top-1.
QString accuracyName(const CaptureResult &r)
{
    return r.segmentation() ? OverviewView::tr("mIoU") : OverviewView::tr("top-1");
}

double accuracyOf(const CaptureResult &r)
{
    return r.segmentation() ? r.meanIoU() : r.top1();
}

} // namespace

OverviewView::OverviewView(Session *doc, QWidget *parent)
    : QWidget(parent), doc_(doc), summary_(new QLabel(this)), plot_(new QCustomPlot(this))
{
    summary_->setTextFormat(Qt::RichText);
    summary_->setWordWrap(true);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(summary_);
    layout->addWidget(plot_, 1);

    baseline_ = new QCPBars(plot_->xAxis, plot_->yAxis);
    current_ = new QCPBars(plot_->xAxis, plot_->yAxis);
    baseline_->setName(tr("baseline"));
    current_->setName(tr("current"));
    QColor b = plotcolors::baseline(), c = plotcolors::current();
    baseline_->setPen(Qt::NoPen);
    baseline_->setBrush(b);
    current_->setPen(Qt::NoPen);
    current_->setBrush(c);
    auto *group = new QCPBarsGroup(plot_);
    group->setSpacingType(QCPBarsGroup::stAbsolute);
    group->setSpacing(1);
    baseline_->setBarsGroup(group);
    current_->setBarsGroup(group);
    baseline_->setWidth(0.4);
    current_->setWidth(0.4);
    plot_->yAxis->setRange(0, 100);
    plot_->yAxis->setLabel(tr("sparsity (% zeros)"));
    plot_->xAxis->setLabel(tr("activation site (execution order)"));
    plot_->legend->setVisible(true);
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    stylePlot(plot_);
    installPlotActions(plot_, [this] { return csv(); }, [] { return QStringLiteral("sparsity-overview"); });
    // The axis' width is known after the plot's layout step: when it calls for another label step, the next
    // frame draws with it.
    connect(plot_, &QCustomPlot::afterLayout, this, [this] {
        if (stepForWidth() != labelStep_) {
            updateTicks();
            plot_->replot(QCustomPlot::rpQueuedReplot);
        }
    });

    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        switch (e.kind) {
        case ChangeEvent::Kind::Model:
        case ChangeEvent::Kind::Baseline:
        case ChangeEvent::Kind::Current:
        case ChangeEvent::Kind::Thresholds: rebuild(); break;
        default: break;
        }
    });
    rebuild();
}

QString OverviewView::summaryText() const { return summary_->text(); }

void OverviewView::rebuild()
{
    shownSites_.clear();
    QVector<double> keys, base, cur;
    const auto &sites = doc_->sites();
    for (int s = 0; s < int(sites.size()); ++s) {
        if (!doc_->siteExecuted(s) || !sites[std::size_t(s)].sparsifiable)
            continue;
        const double k = double(shownSites_.size());
        shownSites_ << s;
        keys << k;
        base << std::max(0.0, 100.0 * doc_->baselineSparsity(s));
        cur << std::max(0.0, 100.0 * doc_->currentSparsity(s));
    }
    baseline_->setData(keys, base, true);
    current_->setData(keys, cur, true);
    plot_->xAxis->setTickLabelRotation(50);
    plot_->xAxis->setRange(-0.7, std::max(1.0, double(shownSites_.size()) - 0.3));
    updateTicks();

    const auto b = doc_->baseline();
    const auto c = doc_->current();
    if (!b) {
        summary_->setText(doc_->hasModel() ? tr("<i>Waiting for the baseline capture…</i>")
                                           : tr("<i>Open a model and a dataset to begin</i>"));
    } else {
        const auto mask = sparsifiableMask(doc_->sites());
        QString text = tr("Baseline: %1 <b>%2 %</b> · sparsity <b>%3 %</b> · <b>%4</b> nonzero activations / image")
                           .arg(accuracyName(b->result))
                           .arg(accuracyOf(b->result), 0, 'f', 2)
                           .arg(100.0 * b->result.activationSparsity(mask), 0, 'f', 1)
                           .arg(compactCount(b->result.nonzerosPerImage(mask)));
        if (c && c != b) {
            const bool exact = doc_->currentIsExact();
            text += tr("<br>Current%1: %2 <b>%3 %</b> (%4 pp) · sparsity <b>%5 %</b> · <b>%6</b> nonzero / image (%7× fewer)")
                        .arg(!exact ? tr(" (last exact run; re-evaluating)")
                             : c->sliceOf ? tr(" (exact on a %1-image slice of the %2; the whole subset follows)")
                                                .arg(c->result.images)
                                                .arg(c->sliceOf)
                                          : QString())
                        .arg(accuracyName(c->result))
                        .arg(accuracyOf(c->result), 0, 'f', 2)
                        .arg(accuracyOf(c->result) - accuracyOf(b->result), 0, 'f', 2)
                        .arg(100.0 * c->result.activationSparsity(mask), 0, 'f', 1)
                        .arg(compactCount(c->result.nonzerosPerImage(mask)))
                        .arg(b->result.nonzerosPerImage(mask) / std::max(1.0, c->result.nonzerosPerImage(mask)), 0, 'f', 2);
        }
        text += tr("<br><span style='color:gray'>%1 images · %2 s per capture</span>")
                    .arg(b->result.images)
                    .arg(b->result.seconds, 0, 'f', 1);
        summary_->setText(text);
    }
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

int OverviewView::axisWidth() const
{
    // Before the first layout the axis rect has no size yet: estimate it from the widget's.
    const int w = plot_->axisRect()->width();
    return w > 0 ? w : std::max(1, plot_->width() - 80);
}

int OverviewView::labelPitch() const
{
    // Labels rotated by 50° overprint unless adjacent ticks are a label height apart across their direction.
    return int(std::ceil(double(QFontMetrics(plot_->xAxis->tickLabelFont()).height()) / std::sin(50.0 * M_PI / 180.0)));
}

int OverviewView::stepForWidth() const
{
    const int n = shownSites_.size();
    const double perSite = double(axisWidth()) / std::max(1, n);
    const int step = std::max(1, int(std::ceil(double(labelPitch()) / perSite)));
    if (step > 1) // round to 2, 5, 10, ... so that the labelled sites are easy to count along
        for (int nice : {2, 5, 10, 20, 25, 50, 100})
            if (nice >= step)
                return nice;
    return step;
}

void OverviewView::updateTicks()
{
    // Every site's name when they fit (sample networks); with 50–200 sites every n-th name, n chosen so that
    // labels never overprint. Long module paths are elided in the middle to keep the plot its height.
    const int n = shownSites_.size();
    labelStep_ = stepForWidth();
    const QFontMetrics fm(plot_->xAxis->tickLabelFont());
    const int maxWidth = fm.horizontalAdvance(QLatin1Char('M')) * 9;
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int k = 0; k < n; k += labelStep_)
        ticker->addTick(k, fm.elidedText(QString::fromStdString(doc_->sites()[std::size_t(shownSites_[k])].name),
                                         Qt::ElideMiddle, maxWidth));
    plot_->xAxis->setTicker(ticker);
    plot_->xAxis->setLabel(labelStep_ > 1 ? tr("activation site (execution order; every %1th named)").arg(labelStep_)
                                          : QString());
}

QStringList OverviewView::axisLabels() const
{
    QStringList out;
    if (auto ticker = plot_->xAxis->ticker().dynamicCast<QCPAxisTickerText>())
        for (const QString &label : ticker->ticks())
            out << label;
    return out;
}

QString OverviewView::csv() const
{
    QString out = QStringLiteral("site,baseline_sparsity,current_sparsity,current_is_estimate\n");
    for (int s : shownSites_) {
        bool estimate = false;
        const double cur = doc_->currentSparsity(s, &estimate);
        out += QStringLiteral("%1,%2,%3,%4\n")
                   .arg(QString::fromStdString(doc_->sites()[std::size_t(s)].name))
                   .arg(doc_->baselineSparsity(s), 0, 'g', 9)
                   .arg(cur, 0, 'g', 9)
                   .arg(estimate ? 1 : 0);
    }
    return out;
}

} // namespace sparsity::ui
