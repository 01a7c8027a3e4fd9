#include "graphview.h"

#include "session.h"
#include "error.h"
#include "graph/model.h"
#include "graph/site.h"
#include "graphlayout.h"
#include "plotutil.h"

#include <QComboBox>
#include <QCompleter>
#include <QFileDialog>
#include <QFileInfo>
#include <QGraphicsItem>
#include <QGraphicsScene>
#include <QGraphicsSceneMouseEvent>
#include <QGraphicsView>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QStyleOptionGraphicsItem>
#include <QToolButton>
#include <QVBoxLayout>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace sparsity::ui {

using Kind = DataflowNode::Kind;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A perceptual ramp (viridis' stops): low values dark blue, high values yellow; readable on light and dark.
QColor ramp(double t)
{
    static const QColor stops[] = {QColor(0x44, 0x01, 0x54), QColor(0x3b, 0x52, 0x8b), QColor(0x21, 0x91, 0x8c),
                                   QColor(0x5e, 0xc9, 0x62), QColor(0xfd, 0xe7, 0x25)};
    t = std::clamp(t, 0.0, 1.0) * 4.0;
    const int i = std::min(3, int(t));
    const double f = t - i;
    const QColor &a = stops[i], &b = stops[i + 1];
    return QColor::fromRgbF(float(a.redF() + (b.redF() - a.redF()) * f), float(a.greenF() + (b.greenF() - a.greenF()) * f),
                            float(a.blueF() + (b.blueF() - a.blueF()) * f));
}

bool isOp(Kind k) { return k == Kind::Add || k == Kind::Pool || k == Kind::Cat || k == Kind::Join; }

// Wheel zooms around the pointer; dragging the background pans.
class ZoomingView : public QGraphicsView {
public:
    using QGraphicsView::QGraphicsView;

protected:
    void wheelEvent(QWheelEvent *event) override
    {
        const double factor = std::pow(1.0015, event->angleDelta().y());
        setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
        scale(factor, factor);
        event->accept();
    }
};

} // namespace

// One node: a box for layers and sites (name, and the metric's value or the layer's geometry), a small ellipse for
// adds, pools and concats, a pill for the input and output.
class GraphNodeItem : public QGraphicsItem {
public:
    GraphNodeItem(int index, Kind kind, const QSizeF &size, std::function<void(int)> onClick)
        : index_(index), kind_(kind), rect_(-size.width() / 2, -size.height() / 2, size.width(), size.height()),
          onClick_(std::move(onClick))
    {
        setCursor(Qt::PointingHandCursor);
    }
    QRectF boundingRect() const override { return rect_.adjusted(-3, -3, 3, 3); }
    void setText(const QString &title, const QString &detail)
    {
        title_ = title;
        detail_ = detail;
        update();
    }
    void setFill(const QColor &fill)
    {
        fill_ = fill;
        update();
    }
    QColor fill() const { return fill_; }
    void setSelected(bool on)
    {
        selected_ = on;
        update();
    }

    void paint(QPainter *p, const QStyleOptionGraphicsItem *, QWidget *) override
    {
        p->setRenderHint(QPainter::Antialiasing);
        p->setPen(selected_ ? QPen(QColor(0xff, 0xa8, 0x1c), 3.0) : QPen(QColor(0x20, 0x22, 0x28), 1.0));
        p->setBrush(fill_);
        if (isOp(kind_))
            p->drawEllipse(rect_);
        else if (kind_ == Kind::Layer)
            p->drawRoundedRect(rect_, 2, 2);
        else
            p->drawRoundedRect(rect_, rect_.height() / 2.6, rect_.height() / 2.6);
        // Text in black or white, whichever reads better on the fill.
        p->setPen(fill_.lightnessF() > 0.55 ? Qt::black : Qt::white);
        QFont f = p->font();
        f.setPointSizeF(7.5);
        p->setFont(f);
        if (detail_.isEmpty()) {
            p->drawText(rect_, Qt::AlignCenter, title_);
            return;
        }
        const QRectF top(rect_.left() + 4, rect_.top() + 2, rect_.width() - 8, rect_.height() / 2 - 1);
        const QRectF bottom(rect_.left() + 4, rect_.center().y(), rect_.width() - 8, rect_.height() / 2 - 2);
        p->drawText(top, Qt::AlignHCenter | Qt::AlignBottom, title_);
        f.setBold(true);
        p->setFont(f);
        p->drawText(bottom, Qt::AlignHCenter | Qt::AlignTop, detail_);
    }

protected:
    void mousePressEvent(QGraphicsSceneMouseEvent *event) override
    {
        QGraphicsItem::mousePressEvent(event);
        event->accept();
        onClick_(index_);
    }

private:
    int index_;
    Kind kind_;
    QRectF rect_;
    std::function<void(int)> onClick_;
    QString title_, detail_;
    QColor fill_;
    bool selected_ = false;
};

GraphView::GraphView(Session *doc, QWidget *parent)
    : QWidget(parent), doc_(doc), metricBox_(new QComboBox(this)), search_(new QLineEdit(this)), legend_(new QLabel(this)),
      scene_(new QGraphicsScene(this)), view_(new ZoomingView(scene_, this))
{
    metricBox_->addItem(tr("Baseline sparsity"), int(Metric::BaselineSparsity));
    metricBox_->addItem(tr("Current sparsity"), int(Metric::CurrentSparsity));
    metricBox_->addItem(tr("Nonzeros / image"), int(Metric::NonzerosPerImage));
    metricBox_->addItem(tr("Share of latency"), int(Metric::LatencyShare));
    metricBox_->addItem(tr("Share of energy"), int(Metric::EnergyShare));
    metricBox_->addItem(tr("Threshold"), int(Metric::Threshold));
    metricBox_->setCurrentIndex(1);
    metricBox_->setToolTip(tr("Colour nodes by: sparsity and nonzeros at activation sites, latency and energy shares "
                              "(projected, model estimates) at conv/linear layers"));
    search_->setPlaceholderText(tr("Find node…"));
    search_->setClearButtonEnabled(true);
    auto button = [this](const QString &text, const QString &tip, auto slot) {
        auto *b = new QToolButton(this);
        b->setText(text);
        b->setToolTip(tip);
        connect(b, &QToolButton::clicked, this, slot);
        return b;
    };
    auto *controls = new QHBoxLayout;
    controls->addWidget(metricBox_);
    controls->addWidget(search_, 1);
    controls->addWidget(button(QStringLiteral("−"), tr("Zoom out"), [this] { zoom(1 / 1.25); }));
    controls->addWidget(button(QStringLiteral("+"), tr("Zoom in"), [this] { zoom(1.25); }));
    controls->addWidget(button(tr("Fit"), tr("Show the whole graph"), [this] { fit(); }));
    controls->addWidget(button(tr("Export…"), tr("Save the graph as PNG, SVG or PDF"), [this] { exportDialog(); }));
    legend_->setTextFormat(Qt::RichText);
    legend_->setWordWrap(true);
    view_->setDragMode(QGraphicsView::ScrollHandDrag);
    view_->setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing);
    view_->setBackgroundBrush(palette().color(QPalette::Base));
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(controls);
    layout->addWidget(legend_);
    layout->addWidget(view_, 1);

    connect(metricBox_, &QComboBox::currentIndexChanged, this,
            [this] { setMetric(Metric(metricBox_->currentData().toInt())); });
    connect(search_, &QLineEdit::returnPressed, this, [this] {
        if (!search_->text().isEmpty() && !find(search_->text()))
            legend_->setText(tr("<span style='color:#e05a2e'>No node's name contains “%1”</span>").arg(search_->text().toHtmlEscaped()));
    });
    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        switch (e.kind) {
        case ChangeEvent::Kind::Model: rebuild(); break;
        case ChangeEvent::Kind::Baseline:
        case ChangeEvent::Kind::Current:
        case ChangeEvent::Kind::Thresholds:
        case ChangeEvent::Kind::Projection: recolour(); break;
        case ChangeEvent::Kind::SelectedSite: showSelection(e.site()); break;
        default: break;
        }
    });
    rebuild();
}

GraphView::~GraphView() = default;

void GraphView::rebuild()
{
    scene_->clear();
    nodeItems_.clear();
    edgeItems_.clear();
    layout_.reset();
    selectedNode_ = -1;
    graph_ = DataflowGraph();
    if (!doc_->hasModel()) {
        legend_->setText(tr("<i>Open a model to see its graph</i>"));
        return;
    }
    graph_ = describeDataflow(*doc_->model());
    const QFontMetricsF fm(QFont(font().family(), 8));
    std::vector<GraphLayout::Node> boxes;
    for (const DataflowNode &n : graph_.nodes) {
        const QString name = QString::fromStdString(n.name);
        QString label = name;
        if (isOp(n.kind))
            label = n.kind == Kind::Add ? QStringLiteral("+") : n.kind == Kind::Cat ? QStringLiteral("concat")
                                     : n.kind == Kind::Pool ? QStringLiteral("pool")
                                                            : QString::fromStdString(n.op).section(QLatin1String("::"), -1);
        const double w = isOp(n.kind) ? std::max(30.0, fm.horizontalAdvance(label) + 16)
                                      : std::clamp(fm.horizontalAdvance(label) + 18, 64.0, 190.0);
        const double h = isOp(n.kind) ? 22.0 : n.kind == Kind::Input || n.kind == Kind::Output ? 24.0 : 32.0;
        boxes.push_back({label, QSizeF(w, h)});
    }
    std::vector<std::pair<int, int>> edges;
    for (const DataflowEdge &e : graph_.edges)
        edges.emplace_back(e.from, e.to);
    try {
        layout_ = std::make_unique<GraphLayout>(boxes, edges);
    } catch (const std::exception &e) {
        legend_->setText(tr("<span style='color:#e05a2e'>%1</span>").arg(QString::fromStdString(e.what()).toHtmlEscaped()));
        return;
    }
    for (std::size_t e = 0; e < graph_.edges.size(); ++e) {
        QPainterPath path = layout_->edgePath(int(e));
        // An arrowhead: two short strokes back from the end along the curve's last direction.
        const QPointF tip = layout_->edgeEnd(int(e));
        const QPointF from = path.elementCount() ? path.currentPosition() : tip;
        path.lineTo(tip);
        const QLineF back(tip, from);
        if (back.length() > 0.1) {
            for (double turn : {-25.0, 25.0}) {
                QLineF wing = back;
                wing.setLength(6.0);
                wing.setAngle(back.angle() + turn);
                path.moveTo(tip);
                path.lineTo(wing.p2());
            }
        }
        auto *item = scene_->addPath(path);
        item->setZValue(-1);
        const DataflowNode &source = graph_.nodes[std::size_t(graph_.edges[e].from)];
        item->setToolTip(QStringLiteral("%1 → %2").arg(QString::fromStdString(source.name),
                                                      QString::fromStdString(graph_.nodes[std::size_t(graph_.edges[e].to)].name)));
        edgeItems_.push_back(item);
    }
    for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
        const DataflowNode &n = graph_.nodes[i];
        auto *item = new GraphNodeItem(int(i), n.kind, boxes[i].size, [this](int node) { activateNode(node); });
        item->setPos(layout_->center(int(i)));
        QString tip = QStringLiteral("<b>%1</b><br>%2 · %3").arg(QString::fromStdString(n.name).toHtmlEscaped(),
                                                                 QString::fromLatin1(dataflowKindName(n.kind)),
                                                                 QString::fromStdString(n.op).toHtmlEscaped());
        if (n.kind == Kind::Site && !doc_->sites()[std::size_t(n.site)].sparsifiable)
            tip += tr("<br>dense: %1").arg(QString::fromStdString(doc_->sites()[std::size_t(n.site)].denseReason).toHtmlEscaped());
        item->setToolTip(tip);
        scene_->addItem(item);
        nodeItems_.push_back(item);
    }
    scene_->setSceneRect(layout_->bounds().adjusted(-20, -20, 20, 20));
    QStringList names;
    for (const DataflowNode &n : graph_.nodes)
        names << QString::fromStdString(n.name);
    auto *completer = new QCompleter(names, search_);
    completer->setCaseSensitivity(Qt::CaseInsensitive);
    completer->setFilterMode(Qt::MatchContains);
    search_->setCompleter(completer);
    recolour();
    // Start at the input, as wide as the dock allows (never magnified).
    view_->resetTransform();
    const double s = std::min(1.0, double(view_->viewport()->width()) / std::max(1.0, scene_->sceneRect().width()));
    view_->scale(std::max(0.35, s), std::max(0.35, s));
    view_->centerOn(scene_->sceneRect().center().x(), scene_->sceneRect().top());
    showSelection(doc_->selectedSite());
}

double GraphView::nodeValue(int node) const
{
    const DataflowNode &n = graph_.nodes[std::size_t(node)];
    const auto known = [](double v) { return v < 0.0 ? kNaN : v; };
    if (n.kind == Kind::Site) {
        const Site &site = doc_->sites()[std::size_t(n.site)];
        switch (metric_) {
        case Metric::BaselineSparsity: return known(doc_->baselineSparsity(n.site));
        case Metric::CurrentSparsity: return known(doc_->currentSparsity(n.site));
        case Metric::NonzerosPerImage: {
            const double s = doc_->currentSparsity(n.site);
            return s < 0.0 ? kNaN : double(site.elementsPerImage) * (1.0 - s);
        }
        case Metric::Threshold:
            return site.sparsifiable && std::size_t(n.site) < doc_->thresholds().size()
                       ? double(doc_->thresholds()[std::size_t(n.site)])
                       : kNaN;
        default: return kNaN; // latency and energy are spent in layers
        }
    }
    if (n.kind == Kind::Layer && doc_->hasProjection() &&
        (metric_ == Metric::LatencyShare || metric_ == Metric::EnergyShare)) {
        const auto &layers = doc_->currentEvaluation().layers;
        if (std::size_t(n.layer) >= layers.size())
            return kNaN;
        double total = 0.0;
        for (const auto &l : layers)
            total += metric_ == Metric::LatencyShare ? l.cycles : l.energy.dynamic();
        const auto &l = layers[std::size_t(n.layer)];
        return total > 0.0 ? (metric_ == Metric::LatencyShare ? l.cycles : l.energy.dynamic()) / total : kNaN;
    }
    return kNaN;
}

QString GraphView::valueText(int node) const
{
    const double v = nodeValue(node);
    if (std::isnan(v))
        return {};
    switch (metric_) {
    case Metric::NonzerosPerImage: return compactCount(v);
    case Metric::Threshold: return QString::number(v, 'g', 3);
    default: return QStringLiteral("%1 %").arg(100.0 * v, 0, 'f', 1);
    }
}

QColor GraphView::nodeColour(int node) const
{
    const double v = nodeValue(node);
    if (std::isnan(v))
        return isOp(graph_.nodes[std::size_t(node)].kind) ? QColor(0x8a, 0x90, 0x9c) : QColor(0x5a, 0x60, 0x6c);
    return ramp(scaleMax_ > 0.0 ? v / scaleMax_ : 0.0);
}

double GraphView::edgeWidth(int edge) const
{
    // Edges out of a site carry its nonzero activations (the events an event-driven processor sends): width grows
    // with their count per image; other edges are not measured.
    const DataflowNode &from = graph_.nodes[std::size_t(graph_.edges[std::size_t(edge)].from)];
    if (from.kind != Kind::Site)
        return 1.0;
    double most = 0.0;
    for (const DataflowNode &n : graph_.nodes)
        if (n.kind == Kind::Site) {
            const double s = doc_->currentSparsity(n.site);
            if (s >= 0.0)
                most = std::max(most, double(doc_->sites()[std::size_t(n.site)].elementsPerImage) * (1.0 - s));
        }
    const double s = doc_->currentSparsity(from.site);
    if (s < 0.0 || most <= 0.0)
        return 1.0;
    return 1.0 + 6.0 * std::sqrt(double(doc_->sites()[std::size_t(from.site)].elementsPerImage) * (1.0 - s) / most);
}

void GraphView::setMetric(Metric metric)
{
    metric_ = metric;
    const int index = metricBox_->findData(int(metric));
    if (index != metricBox_->currentIndex())
        metricBox_->setCurrentIndex(index);
    recolour();
}

void GraphView::recolour()
{
    if (!layout_)
        return;
    const bool fraction = metric_ == Metric::BaselineSparsity || metric_ == Metric::CurrentSparsity;
    scaleMax_ = fraction ? 1.0 : 0.0;
    if (!fraction)
        for (std::size_t i = 0; i < graph_.nodes.size(); ++i)
            if (const double v = nodeValue(int(i)); !std::isnan(v))
                scaleMax_ = std::max(scaleMax_, v);
    const auto &layers = doc_->model()->layers();
    for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
        const DataflowNode &n = graph_.nodes[i];
        const QString name = QString::fromStdString(n.name);
        const QFontMetricsF fm(QFont(font().family(), 8));
        const QString title = isOp(n.kind) ? QString() : fm.elidedText(name, Qt::ElideMiddle, 170);
        QString detail = valueText(int(i));
        if (detail.isEmpty() && n.kind == Kind::Layer) {
            const ConsumerLayer &g = layers[std::size_t(n.layer)].geometry;
            detail = g.kind == LayerKind::Linear ? tr("linear → %1").arg(g.outChannels)
                                                 : tr("conv %1×%2 → %3").arg(g.kernelH).arg(g.kernelW).arg(g.outChannels);
        }
        if (isOp(n.kind))
            nodeItems_[i]->setText(n.kind == Kind::Add ? QStringLiteral("+") : n.kind == Kind::Cat ? QStringLiteral("concat")
                                                      : n.kind == Kind::Pool ? QStringLiteral("pool")
                                                                             : QString::fromStdString(n.op).section(QLatin1String("::"), -1),
                                   QString());
        else
            nodeItems_[i]->setText(title, n.kind == Kind::Input || n.kind == Kind::Output ? QString() : detail);
        nodeItems_[i]->setFill(nodeColour(int(i)));
    }
    const QColor edgeColour = palette().color(QPalette::WindowText);
    for (std::size_t e = 0; e < edgeItems_.size(); ++e) {
        const double w = edgeWidth(int(e));
        QColor c = edgeColour;
        c.setAlphaF(w > 1.0 ? 0.75f : 0.4f);
        edgeItems_[e]->setPen(QPen(c, w, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    }
    const QString what = metricBox_->currentText().toLower();
    const QString low = fraction ? QStringLiteral("0 %") : QStringLiteral("0");
    const QString high = fraction ? QStringLiteral("100 %")
                         : metric_ == Metric::NonzerosPerImage ? compactCount(scaleMax_)
                         : metric_ == Metric::Threshold        ? QString::number(scaleMax_, 'g', 3)
                                                               : QStringLiteral("%1 %").arg(100.0 * scaleMax_, 0, 'f', 1);
    const bool atLayers = metric_ == Metric::LatencyShare || metric_ == Metric::EnergyShare;
    legend_->setText(tr("%1 <span style='background:#440154;color:white'>&nbsp;%2&nbsp;</span><span "
                        "style='background:#21918c;color:white'>&nbsp;…&nbsp;</span><span "
                        "style='background:#fde725;color:black'>&nbsp;%3&nbsp;</span> at %4%5 · edge width: nonzero "
                        "activations per image")
                         .arg(what, low, high, atLayers ? tr("conv/linear layers") : tr("activation sites"),
                              atLayers ? tr(" (projected, estimates)") : QString()));
}

void GraphView::showSelection(int site)
{
    int node = graph_.nodeOfSite(site);
    // A layer clicked stays selected while its input site is the session's selection.
    if (selectedNode_ >= 0 && graph_.nodes[std::size_t(selectedNode_)].kind == Kind::Layer &&
        doc_->model()->layers()[std::size_t(graph_.nodes[std::size_t(selectedNode_)].layer)].inputSite == site)
        node = selectedNode_;
    if (selectedNode_ >= 0 && std::size_t(selectedNode_) < nodeItems_.size())
        nodeItems_[std::size_t(selectedNode_)]->setSelected(false);
    selectedNode_ = node;
    if (node >= 0 && std::size_t(node) < nodeItems_.size()) {
        nodeItems_[std::size_t(node)]->setSelected(true);
        view_->ensureVisible(nodeItems_[std::size_t(node)], 40, 40);
    }
}

void GraphView::activateNode(int node)
{
    const DataflowNode &n = graph_.nodes[std::size_t(node)];
    int site = n.kind == Kind::Site ? n.site : -1;
    if (n.kind == Kind::Layer) {
        if (selectedNode_ >= 0)
            nodeItems_[std::size_t(selectedNode_)]->setSelected(false);
        selectedNode_ = node; // kept by showSelection while its input site is selected
        nodeItems_[std::size_t(node)]->setSelected(true);
        site = doc_->model()->layers()[std::size_t(n.layer)].inputSite;
    }
    if (site >= 0)
        doc_->setSelectedSite(site);
}

QPoint GraphView::nodeInViewport(int node) const
{
    return view_->mapFromScene(nodeItems_[std::size_t(node)]->pos());
}

bool GraphView::find(const QString &text)
{
    const int n = int(graph_.nodes.size());
    // A node named exactly so wins (an add merged into "layer3.relu#2" also contains that name), then the next
    // node after the selection whose name contains the text.
    const auto exact = std::find_if(graph_.nodes.begin(), graph_.nodes.end(), [&](const DataflowNode &node) {
        return QString::fromStdString(node.name).compare(text, Qt::CaseInsensitive) == 0;
    });
    const int first = exact != graph_.nodes.end() ? int(exact - graph_.nodes.begin()) : -1;
    for (int k = 1; k <= n; ++k) {
        const int i = first >= 0 ? first : (std::max(selectedNode_, -1) + k + n) % n;
        if (first >= 0 || QString::fromStdString(graph_.nodes[std::size_t(i)].name).contains(text, Qt::CaseInsensitive)) {
            const Kind kind = graph_.nodes[std::size_t(i)].kind;
            if (kind == Kind::Site || kind == Kind::Layer)
                activateNode(i);
            else {
                if (selectedNode_ >= 0)
                    nodeItems_[std::size_t(selectedNode_)]->setSelected(false);
                selectedNode_ = i;
                nodeItems_[std::size_t(i)]->setSelected(true);
            }
            view_->centerOn(nodeItems_[std::size_t(i)]);
            recolour(); // restores the legend after a "not found"
            return true;
        }
    }
    return false;
}

void GraphView::fit() { view_->fitInView(scene_->sceneRect(), Qt::KeepAspectRatio); }

void GraphView::zoom(double factor)
{
    view_->setTransformationAnchor(QGraphicsView::AnchorViewCenter);
    view_->scale(factor, factor);
}

void GraphView::exportTo(const QString &path) const
{
    if (!layout_)
        throw Error(path.toStdString() + ": there is no graph to export (open a model first)");
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("svg")) {
        std::vector<QString> fills;
        for (std::size_t i = 0; i < graph_.nodes.size(); ++i)
            fills.push_back(nodeColour(int(i)).name());
        std::vector<double> widths;
        for (std::size_t e = 0; e < graph_.edges.size(); ++e)
            widths.push_back(edgeWidth(int(e)));
        layout_->writeSvg(path, fills, widths);
        return;
    }
    const QRectF source = scene_->sceneRect();
    QSaveFile out(path); // atomic: a failed export leaves a previous file as it was
    if (!out.open(QIODevice::WriteOnly))
        throw Error(path.toStdString() + ": cannot write (" + out.errorString().toStdString() + ")");
    if (suffix == QLatin1String("png")) {
        const double scale = std::min(2.0, 16000.0 / std::max(source.width(), source.height()));
        QImage image((source.size() * scale).toSize(), QImage::Format_ARGB32_Premultiplied);
        image.fill(palette().color(QPalette::Base));
        QPainter p(&image);
        p.setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing);
        scene_->render(&p, QRectF(QPointF(0, 0), image.size()), source);
        p.end();
        if (!image.save(&out, "PNG"))
            throw Error(path.toStdString() + ": cannot encode the PNG");
    } else if (suffix == QLatin1String("pdf")) {
        QPdfWriter pdf(&out);
        pdf.setPageSize(QPageSize(source.size(), QPageSize::Point));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        pdf.setTitle(doc_->modelName());
        QPainter p(&pdf);
        scene_->render(&p, QRectF(), source);
        p.end();
    } else {
        out.cancelWriting();
        throw Error(path.toStdString() + ": unknown format (use .png, .svg or .pdf)");
    }
    if (!out.commit())
        throw Error(path.toStdString() + ": cannot write (" + out.errorString().toStdString() + ")");
}

void GraphView::exportDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Graph"), doc_->modelName() + QStringLiteral("-graph.svg"),
                                                      tr("SVG (*.svg);;PNG image (*.png);;PDF (*.pdf)"));
    if (path.isEmpty())
        return;
    try {
        exportTo(path);
    } catch (const std::exception &e) {
        QMessageBox::warning(this, tr("Cannot export the graph"), QString::fromStdString(e.what()));
    }
}

} // namespace sparsity::ui
