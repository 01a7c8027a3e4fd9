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

private:
    void rebuild();
    Session *doc_;
    QLabel *summary_;
    QCustomPlot *plot_;
    QCPBars *baseline_, *current_;
    QVector<int> shownSites_;
};

} // namespace sparsity::ui
