#pragma once

#include <QWidget>

class QComboBox;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace sparsity {
class Session;
struct SweepResult;
}

namespace sparsity::ui {

// The Sweep view ("pick a point", issue #19): thresholds for a range of accuracy budgets (search) or target
// sparsities (quantile rule), each evaluated exactly on the project's images (Session::startSweep). Two linked
// charts share the top-1 axis: against nonzero activations per image, and against the projected latency or energy
// per frame. Front points are filled and joined; hovering a point shows its figures and marks it in both charts;
// clicking one makes its thresholds current (one undo step).
class SweepView : public QWidget {
    Q_OBJECT
public:
    explicit SweepView(Session *doc, QWidget *parent = nullptr);

    QPushButton *runButton() const { return run_; }
    QPushButton *cancelButton() const { return cancel_; }
    QComboBox *ruleBox() const { return rule_; }
    QLineEdit *valuesEdit() const { return values_; }
    QCustomPlot *plot() const { return plot_; }
    QString statusText() const;
    int pointsPlotted() const;
    // Chart 0 is top-1 vs nonzeros per image, chart 1 vs the projected cost (latency or energy, costBox()).
    QComboBox *costBox() const { return cost_; }
    // Where point `index` is drawn in chart `chart`, in widget pixels (for tests and the hover).
    QPointF pointPosition(int chart, int index) const;
    int highlighted() const { return highlighted_; }
    QString csv() const;

private:
    void run();
    void fill();
    void highlight(int index);
    int pointAt(const QPoint &pos) const;
    void setStatus(const QString &text);

    Session *doc_;
    QComboBox *rule_, *cost_;
    QLineEdit *values_;
    QSpinBox *calibration_;
    QPushButton *run_, *cancel_;
    QLabel *status_;
    QCustomPlot *plot_;
    int highlighted_ = -1;
};

} // namespace sparsity::ui
