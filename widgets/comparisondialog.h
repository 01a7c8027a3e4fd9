#pragma once

#include <QDialog>

class QCheckBox;
class QCustomPlot;
class QLabel;
class QPushButton;
class QTableWidget;

namespace sparsity::ui {

class Document;

// Analysis > Compare Methods: ReLU / threshold-only / L1-only / STAR under the budget of the project's recipe
// (core/comparison.h), as a table and a chart of top-1 against the activations removed; any row can become the
// current state.
class ComparisonDialog : public QDialog {
    Q_OBJECT
public:
    explicit ComparisonDialog(Document *doc, QWidget *parent = nullptr);
    QPushButton *runButton() const { return run_; }
    QPushButton *cancelButton() const { return cancel_; }
    QPushButton *applyButton() const { return apply_; }
    QTableWidget *table() const { return table_; }
    QCustomPlot *plot() const { return plot_; }
    QCheckBox *methodBox(int method) const; // by Recipe::Method
    QString statusText() const;
    int pointsPlotted() const;
    QString csv() const;

private:
    void run();
    void fill();
    void updateButtons();

    Document *doc_;
    std::vector<QCheckBox *> methods_;
    QPushButton *run_, *cancel_, *apply_;
    QLabel *status_;
    QTableWidget *table_;
    QCustomPlot *plot_;
};

} // namespace sparsity::ui
