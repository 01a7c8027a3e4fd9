#pragma once

#include <QPainterPath>
#include <QRectF>
#include <QSizeF>
#include <QString>

#include <memory>
#include <utility>
#include <vector>

namespace sparsity::ui {

// A layered top-down layout of a directed graph by Graphviz's dot (libgvc): node boxes in, their positions and
// the edges' curves out, in points (1/72 inch) with y growing downwards (scene coordinates). Graphviz is not
// thread-safe: use it on one thread.
class GraphLayout {
public:
    struct Node {
        QString label; // written into the SVG export; the layout keeps `size` whatever the label
        QSizeF size;
    };
    // Lays the graph out. Throws sparsity::Error when Graphviz cannot (no "dot" layout plugin installed).
    GraphLayout(const std::vector<Node> &nodes, const std::vector<std::pair<int, int>> &edges);
    ~GraphLayout();
    GraphLayout(const GraphLayout &) = delete;
    GraphLayout &operator=(const GraphLayout &) = delete;

    QPointF center(int node) const;
    QPainterPath edgePath(int edge) const; // from the source's border to the target's, without arrowhead
    QPointF edgeEnd(int edge) const;       // where the arrowhead points
    QRectF bounds() const;

    // Writes the laid-out graph as SVG with Graphviz's own renderer: node fill colours (#rrggbb) and edge widths
    // (points) as given. Throws sparsity::Error naming the file when it cannot be written.
    void writeSvg(const QString &path, const std::vector<QString> &fillColours, const std::vector<double> &edgeWidths) const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

} // namespace sparsity::ui
