#pragma once

#include <QWidget>

class QCustomPlot;
class QCPBars;
class QLabel;

namespace sparsity::ui {

class Document;

// The whole network at a glance: sparsity per site (baseline vs current), accuracy and nonzero activations per
// image (the events an event-driven processor sees).
class OverviewView : public QWidget {
    Q_OBJECT
public:
    explicit OverviewView(Document *doc, QWidget *parent = nullptr);
    QCustomPlot *plot() const { return plot_; }
    QString summaryText() const;
    QString csv() const;

private:
    void rebuild();
    Document *doc_;
    QLabel *summary_;
    QCustomPlot *plot_;
    QCPBars *baseline_, *current_;
    QVector<int> shownSites_;
};

} // namespace sparsity::ui
