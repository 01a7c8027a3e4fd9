#pragma once

#include <QDialog>

#include <vector>

class QCheckBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QTableWidget;

namespace sparsity {
class Session;
}

namespace sparsity::ui {

// Analysis > Compare Methods: ReLU / threshold-only / L1-only / STAR under the budget of the project's recipe
// (core/comparison.h), as a table and charts of top-1 against the activations removed and against the latency and
// energy projected on the processor preset of the Hardware Projection view (the same model, core/processor.h,
// applied to each method's measured workload); any row can become the current state.
class ComparisonDialog : public QDialog {
    Q_OBJECT
public:
    explicit ComparisonDialog(Session *doc, QWidget *parent = nullptr);
    QPushButton *runButton() const { return run_; }
    QPushButton *cancelButton() const { return cancel_; }
    QPushButton *applyButton() const { return apply_; }
    QTableWidget *table() const { return table_; }
    QCustomPlot *plot() const { return plot_; }
    QCheckBox *methodBox(int method) const; // by Recipe::Method
    QString statusText() const;
    // Charts: 0 top-1 vs activations removed, 1 vs projected latency, 2 vs projected energy.
    static constexpr int kCharts = 3;
    int pointsPlotted(int chart = 0) const;
    // Per row, on the current preset; NaN when there is no valid preset.
    double projectedLatency(int row) const;
    double projectedEnergy(int row) const;
    QString csv() const;

private:
    void run();
    void fill();
    void updateButtons();

    Session *doc_;
    int shownPreset_ = -2; // the preset the projection columns were computed on
    std::vector<double> latency_, energy_; // seconds and joules per frame, per row
    std::vector<QCheckBox *> methods_;
    QPushButton *run_, *cancel_, *apply_;
    QLabel *status_, *projection_;
    QTableWidget *table_;
    QCustomPlot *plot_;
};

} // namespace sparsity::ui
