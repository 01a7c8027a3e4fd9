#pragma once

#include "graph/dataflow.h"

#include <QColor>
#include <QWidget>

#include <memory>
#include <vector>

class QComboBox;
class QGraphicsPathItem;
class QGraphicsScene;
class QGraphicsView;
class QLabel;
class QLineEdit;

namespace sparsity {
class Session;
}

namespace sparsity::ui {

class GraphLayout;
class GraphNodeItem;

// The model as a dataflow graph (core/graph/dataflow.h) laid out top-down by Graphviz: conv/linear layers,
// activation sites, adds, pools and concats, nodes coloured by a chosen metric, edges out of a site as wide as
// the events it sends. Selecting a node selects its site everywhere (a layer: the site it reads); the session's
// selection is shown here. Zoom with the wheel or the buttons, pan by dragging, search by name, export.
class GraphView : public QWidget {
    Q_OBJECT
public:
    enum class Metric { BaselineSparsity, CurrentSparsity, NonzerosPerImage, LatencyShare, EnergyShare, Threshold };

    explicit GraphView(Session *doc, QWidget *parent = nullptr);
    ~GraphView() override;

    const DataflowGraph &graph() const { return graph_; }
    QGraphicsView *view() const { return view_; }
    void setMetric(Metric metric);
    Metric metric() const { return metric_; }
    // The metric's value of node `node` (NaN when the metric does not apply or is not known yet).
    double nodeValue(int node) const;
    QColor nodeColour(int node) const;
    double edgeWidth(int edge) const;
    // Where node `node` is drawn, in the view's viewport (for tests and the search).
    QPoint nodeInViewport(int node) const;
    int selectedNode() const { return selectedNode_; }
    // Selects the first node whose name contains `text` after the selected one, centres it; false when none does.
    bool find(const QString &text);
    void fit();
    void zoom(double factor);
    // By suffix: .png (twice the scene's resolution), .svg (Graphviz's renderer), .pdf. Throws sparsity::Error.
    void exportTo(const QString &path) const;

private:
    void rebuild();
    void recolour();
    void showSelection(int site);
    void activateNode(int node);
    void exportDialog();
    QString valueText(int node) const;

    Session *doc_;
    QComboBox *metricBox_;
    QLineEdit *search_;
    QLabel *legend_;
    QGraphicsScene *scene_;
    QGraphicsView *view_;
    DataflowGraph graph_;
    std::unique_ptr<GraphLayout> layout_;
    std::vector<GraphNodeItem *> nodeItems_;
    std::vector<QGraphicsPathItem *> edgeItems_;
    Metric metric_ = Metric::CurrentSparsity;
    int selectedNode_ = -1;
    double scaleMax_ = 1.0;
};

} // namespace sparsity::ui
