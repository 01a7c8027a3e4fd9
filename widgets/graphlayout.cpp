#include "graphlayout.h"

#include "error.h"

#include <QFile>
#include <QSaveFile>

#include <graphviz/gvc.h>

#include <cstdio>

namespace sparsity::ui {

namespace {

// cgraph's API takes char* for names it only reads.
char *cs(const char *s) { return const_cast<char *>(s); }

void set(void *object, const char *name, const QByteArray &value)
{
    agsafeset(object, cs(name), const_cast<char *>(value.constData()), cs(""));
}

} // namespace

struct GraphLayout::Impl {
    GVC_t *gvc = nullptr;
    Agraph_t *graph = nullptr;
    std::vector<Agnode_t *> nodes;
    std::vector<Agedge_t *> edges;
    double top = 0.0; // Graphviz's y grows upwards from the bounding box's bottom

    QPointF toScene(pointf p) const { return {p.x, top - p.y}; }

    ~Impl()
    {
        if (graph) {
            gvFreeLayout(gvc, graph);
            agclose(graph);
        }
        if (gvc)
            gvFreeContext(gvc);
    }
};

GraphLayout::GraphLayout(const std::vector<Node> &nodes, const std::vector<std::pair<int, int>> &edges)
    : d(std::make_unique<Impl>())
{
    agseterr(AGERR); // warnings such as "label too wide for its fixed size" are expected: sizes are ours
    d->gvc = gvContext();
    d->graph = agopen(cs("model"), Agdirected, nullptr);
    set(d->graph, "rankdir", "TB");
    set(d->graph, "nodesep", "0.18");
    set(d->graph, "ranksep", "0.28");
    set(d->graph, "splines", "spline");
    agattr(d->graph, AGNODE, cs("shape"), cs("box"));
    agattr(d->graph, AGNODE, cs("fixedsize"), cs("true"));
    agattr(d->graph, AGNODE, cs("fontsize"), cs("9"));
    // Declared before the layout: Graphviz looks its attribute symbols up once, when it initialises the graph for a
    // layout, so colours and widths set only afterwards (writeSvg) would never reach the renderer.
    agattr(d->graph, AGNODE, cs("style"), cs("filled"));
    agattr(d->graph, AGNODE, cs("fillcolor"), cs("white"));
    agattr(d->graph, AGEDGE, cs("penwidth"), cs("1"));
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        Agnode_t *n = agnode(d->graph, const_cast<char *>(QByteArray("n" + QByteArray::number(qulonglong(i))).constData()), 1);
        set(n, "width", QByteArray::number(nodes[i].size.width() / 72.0));
        set(n, "height", QByteArray::number(nodes[i].size.height() / 72.0));
        set(n, "label", nodes[i].label.toUtf8());
        d->nodes.push_back(n);
    }
    for (const auto &[from, to] : edges)
        d->edges.push_back(agedge(d->graph, d->nodes[std::size_t(from)], d->nodes[std::size_t(to)], nullptr, 1));
    if (gvLayout(d->gvc, d->graph, "dot") != 0)
        throw Error("Graphviz could not lay out the model graph (is its \"dot\" layout plugin installed? Debian: "
                    "libgvc6; run `dot -c` once as root)");
    d->top = GD_bb(d->graph).UR.y;
}

GraphLayout::~GraphLayout() = default;

QPointF GraphLayout::center(int node) const { return d->toScene(ND_coord(d->nodes[std::size_t(node)])); }

QRectF GraphLayout::bounds() const
{
    const boxf bb = GD_bb(d->graph);
    return QRectF(QPointF(bb.LL.x, 0.0), QPointF(bb.UR.x, bb.UR.y - bb.LL.y));
}

QPainterPath GraphLayout::edgePath(int edge) const
{
    QPainterPath path;
    const splines *spl = ED_spl(d->edges[std::size_t(edge)]);
    if (!spl || spl->size < 1 || spl->list[0].size < 1)
        return path;
    const bezier &b = spl->list[0];
    path.moveTo(d->toScene(b.sflag ? b.sp : b.list[0]));
    if (b.sflag)
        path.lineTo(d->toScene(b.list[0]));
    for (int i = 1; i + 2 < int(b.size); i += 3)
        path.cubicTo(d->toScene(b.list[i]), d->toScene(b.list[i + 1]), d->toScene(b.list[i + 2]));
    return path;
}

QPointF GraphLayout::edgeEnd(int edge) const
{
    const splines *spl = ED_spl(d->edges[std::size_t(edge)]);
    if (!spl || spl->size < 1 || spl->list[0].size < 1)
        return {};
    const bezier &b = spl->list[0];
    return d->toScene(b.eflag ? b.ep : b.list[b.size - 1]);
}

void GraphLayout::writeSvg(const QString &path, const std::vector<QString> &fillColours, const std::vector<double> &edgeWidths) const
{
    for (std::size_t i = 0; i < d->nodes.size() && i < fillColours.size(); ++i) {
        set(d->nodes[i], "style", "filled");
        set(d->nodes[i], "fillcolor", fillColours[i].toLatin1());
    }
    for (std::size_t i = 0; i < d->edges.size() && i < edgeWidths.size(); ++i)
        set(d->edges[i], "penwidth", QByteArray::number(edgeWidths[i], 'f', 2));
    char *data = nullptr;
    unsigned int length = 0;
    if (gvRenderData(d->gvc, d->graph, "svg", &data, &length) != 0 || !data)
        throw Error(path.toStdString() + ": Graphviz could not render SVG");
    const QByteArray svg(data, int(length));
    gvFreeRenderData(data);
    QSaveFile out(path); // atomic: a failed export leaves a previous file as it was
    if (!out.open(QIODevice::WriteOnly) || out.write(svg) != svg.size() || !out.commit())
        throw Error(path.toStdString() + ": cannot write (" + out.errorString().toStdString() + ")");
}

} // namespace sparsity::ui
