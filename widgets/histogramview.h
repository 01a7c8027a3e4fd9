#pragma once

#include <QWidget>

class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QCheckBox;
class QLabel;
class QMouseEvent;

namespace sparsity {
class Session;
}

namespace sparsity::ui {

// The selected site's positive values (log-spaced bins) for the baseline and the current capture, the share of
// exact zeros apart, and the threshold as a vertical line the user drags. A drag pushes mergeable threshold
// commands: the table and the projection update at once from the histogram estimate, and the Session starts
// the exact re-evaluation (latest result wins).
class HistogramView : public QWidget {
    Q_OBJECT
public:
    explicit HistogramView(Session *doc, QWidget *parent = nullptr);
    QCustomPlot *plot() const { return plot_; }
    QWidget *plotWidget() const; // for simulated mouse input
    QRect plotArea() const;      // the axis rect, in plotWidget() coordinates
    double valueAtPixel(int x) const;
    // What a drag does at each mouse move, callable from tests: set the selected site's threshold at plot x.
    void dragThresholdTo(double value, int mergeSession);
    // Pixel position of the threshold line (for simulated mouse input), or -1 when hidden.
    int thresholdPixel() const;
    QString csv() const;

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;

private:
    void rebuild();
    void updateMarker();
    void setLogX(bool log);
    void setLogY(bool log);

    Session *doc_;
    QCustomPlot *plot_;
    QCPGraph *baseline_ = nullptr;
    QCPGraph *current_ = nullptr;
    QCPItemStraightLine *line_ = nullptr;
    QCPItemText *zeroText_ = nullptr;
    QCPItemText *lineText_ = nullptr;
    QCheckBox *logX_;
    QCheckBox *logY_;
    QLabel *title_;
    int site_ = -1;
    int dragSession_ = 0; // nonzero while dragging
};

} // namespace sparsity::ui
