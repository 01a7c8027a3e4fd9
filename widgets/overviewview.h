#pragma once

#include <QWidget>

class QCustomPlot;
class QCPBars;
class QLabel;

namespace sparsity {
class Session;
}

namespace sparsity::ui {

// The whole network at a glance: sparsity per site (baseline vs current), accuracy and nonzero activations per
// image (the events an event-driven processor sees).
class OverviewView : public QWidget {
    Q_OBJECT
public:
    explicit OverviewView(Session *doc, QWidget *parent = nullptr);
    QCustomPlot *plot() const { return plot_; }
    QString summaryText() const;
    QString csv() const;
    // The x axis' labels (site names, every labelStep()-th site when there is no room for all) and the axis' width.
    QStringList axisLabels() const;
    int labelStep() const { return labelStep_; }
    int axisWidth() const;
    // Horizontal distance adjacent rotated labels need so that they do not overprint.
    int labelPitch() const;

private:
    void rebuild();
    void updateTicks();
    int stepForWidth() const;
    Session *doc_;
    QLabel *summary_;
    QCustomPlot *plot_;
    QCPBars *baseline_, *current_;
    QVector<int> shownSites_;
    int labelStep_ = 1;
};

} // namespace sparsity::ui
