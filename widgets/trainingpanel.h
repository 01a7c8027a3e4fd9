#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QSplitter;

namespace sparsity {
struct Recipe;
struct TrainingStep;
struct EpochReport;
}

namespace sparsity {
class Session;
}

namespace sparsity::ui {

// Fine-tuning (core/training.h) as a dock: a recipe editor bound to the project's recipe (the JSON the CLI reads),
// Start / Pause-Continue / Cancel / Resume, the checkpoint folder, and live curves of task loss, penalty and sparsity per step and
// validation accuracy per epoch.
class TrainingPanel : public QWidget {
    Q_OBJECT
public:
    explicit TrainingPanel(Session *doc, QWidget *parent = nullptr);

    Recipe recipe() const;          // as the editor shows it
    void setRecipe(const Recipe &r); // shows it and stores it in the project
    QString checkpointDir() const;

    QPushButton *startButton() const { return start_; }
    QPushButton *cancelButton() const { return cancel_; }
    QPushButton *pauseButton() const { return pause_; } // "Pause" while running, "Continue" while paused
    QPushButton *resumeButton() const { return resume_; }
    QCustomPlot *plot() const { return plot_; }
    int stepsPlotted() const;
    int epochsPlotted() const;
    QString statusText() const;
    QString csv() const;

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    void showRecipe(const Recipe &r);
    void loadFromDocument();
    void storeInDocument();
    void start(bool resume);
    void clearCurves();
    void addStep(const TrainingStep &step);
    void addEpoch(const EpochReport &epoch);
    void updateButtons();
    void updateEnabledFields();
    void showProgress(const QString &text); // with "paused" appended while the run is paused

    Session *doc_;
    bool loading_ = false;
    QComboBox *method_, *scope_, *bandMode_, *penalty_, *weighting_, *thresholdMode_, *strategy_;
    QCheckBox *perChannel_, *bandPerChannel_, *learnThresholds_;
    QSpinBox *minDepth_, *maxDepth_;
    QDoubleSpinBox *band_, *lambda_, *budget_, *target_, *constantShare_, *ramp_, *sparsityWeight_;
    QSpinBox *regEpochs_, *ftEpochs_;
    QDoubleSpinBox *regRate_, *ftRate_;
    QSpinBox *trainImages_, *calibrationImages_, *validationImages_, *batch_, *seed_;
    QSpinBox *processes_; // not part of the recipe: how this run is executed
    QPushButton *start_, *pause_, *cancel_, *resume_;
    QLabel *checkpoints_, *status_;
    QCustomPlot *plot_;
    QSplitter *split_;
    double stepX_ = 0.0;
    QString progress_; // the last step or epoch line
};

} // namespace sparsity::ui
