#pragma once

#include <QWidget>

class QComboBox;
class QCustomPlot;
class QCPAxisRect;
class QCPBars;
class QGridLayout;
class QLabel;

namespace sparsity {
class Session;
}

namespace sparsity::ui {

// Projected latency and energy per layer on the chosen processor preset, dense vs baseline vs current, with
// totals and ratios. Every number here is a model estimate (docs/processor-model.md), and the view says so.
class HardwareView : public QWidget {
    Q_OBJECT
public:
    explicit HardwareView(Session *doc, QWidget *parent = nullptr);
    QCustomPlot *plot() const { return plot_; }
    QComboBox *presetPicker() const { return preset_; }
    QString totalsText() const;
    QString csv() const;
    // Saves `json` (a preset) as a user preset after validating it; returns the error text or an empty string.
    QString saveUserPreset(const QByteArray &json);

private:
    void fillPresets();
    void editPreset();
    void rebuild();
    Session *doc_;
    QComboBox *preset_;
    QLabel *banner_;
    QLabel *note_;
    QGridLayout *totals_;
    QCustomPlot *plot_;
    QCPAxisRect *energyRect_;
    QCPBars *latency_[3];
    QCPBars *energy_[3];
};

} // namespace sparsity::ui
