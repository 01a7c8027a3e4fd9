#pragma once

#include <QMainWindow>

#include <functional>
#include <vector>

class QDockWidget;
class QLabel;
class QMenu;
class QProgressBar;
class QToolButton;

namespace sparsity {
class RecoveryCopy;
class Session;
struct Project;
}

namespace sparsity::ui {

struct NamedPlot;
class ComparisonDialog;
class DatasetBrowser;
class GraphView;
class SweepView;
class HardwareView;
class HeatmapView;
class HistogramView;
class LayersView;
class OverviewView;
class TrainingPanel;

// The explorer's window: the Session, its views in rearrangeable docks, menus, the job bar in the status bar.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    Session *document() const { return doc_; }
    LayersView *layersView() const { return layers_; }
    HistogramView *histogramView() const { return histogram_; }
    HeatmapView *heatmapView() const { return heatmap_; }
    OverviewView *overviewView() const { return overview_; }
    HardwareView *hardwareView() const { return hardware_; }
    TrainingPanel *trainingPanel() const { return training_; }
    DatasetBrowser *datasetBrowser() const { return browser_; }
    GraphView *graphView() const { return graph_; }
    // Analysis > Sweep… (its dock made on first use, then kept).
    SweepView *sweepView();
    // Analysis > Compare Methods… (created on first use, then kept).
    ComparisonDialog *comparisonDialog();
    // The plots File > Export writes: every view's, the training curves once a run drew some, and the method
    // comparison's once one ran.
    std::vector<NamedPlot> exportablePlots() const;

    // Each shows an error dialog that says what to do and returns false when it fails.
    bool openProject(const Project &project, const QString &path);
    bool openProjectFile(const QString &path);
    bool openModelFile(const QString &path);
    bool saveProjectTo(const QString &path);
    // What the program does at startup: first it offers the recovery copy a crash left (RecoveryCopy); then the
    // path given on the command line (project or model), else the most recent project, else (first start) the
    // sample project.
    void openInitial(const QString &argument);
    RecoveryCopy *recoveryCopy() const { return recovery_; }
    // Answers "recover the unsaved changes?" instead of a dialog (tests); gets the question.
    void setRecoveryAnswer(std::function<bool(const QString &)> answer) { recoveryAnswer_ = std::move(answer); }
    // Errors go to dialogs; tests turn them into a recorded message instead of a blocking window.
    void setErrorSink(std::function<void(const QString &)> sink) { errorSink_ = std::move(sink); }
    // Answers the "training is running, stop it?" question on close instead of a dialog (tests).
    void setCloseDuringTrainingAnswer(std::function<bool()> answer) { closeDuringTraining_ = std::move(answer); }

protected:
    void closeEvent(QCloseEvent *event) override;
    void showEvent(QShowEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    void createDocks();
    void createMenus();
    void createStatusBar();
    bool maybeSave();
    bool offerRecovery(); // true when a recovered project was opened
    void newProject();
    void openProjectDialog();
    bool save();
    bool saveAs();
    void openModelDialog();
    void openDatasetDialog(const QString &path = QString());
    void thresholdSearch();
    void exportTunedModel();
    void addRecent(const QString &path);
    void updateRecentMenu();
    void updateTitle();
    void showError(const QString &title, const QString &message, const QString &advice);

    Session *doc_;
    LayersView *layers_ = nullptr;
    HistogramView *histogram_ = nullptr;
    HeatmapView *heatmap_ = nullptr;
    OverviewView *overview_ = nullptr;
    HardwareView *hardware_ = nullptr;
    TrainingPanel *training_ = nullptr;
    DatasetBrowser *browser_ = nullptr;
    GraphView *graph_ = nullptr;
    SweepView *sweep_ = nullptr;
    ComparisonDialog *comparison_ = nullptr;
    QMenu *viewMenu_ = nullptr;
    QMenu *recentMenu_ = nullptr;
    QLabel *jobLabel_ = nullptr;
    QProgressBar *progress_ = nullptr;
    QToolButton *cancel_ = nullptr;
    QLabel *datasetLabel_ = nullptr;
    bool stateRestored_ = false;
    bool shown_ = false;
    bool defaultLayoutPending_ = false;
    QSize placedSize_;
    std::function<void(const QString &)> errorSink_;
    std::function<bool()> closeDuringTraining_;
    std::function<bool(const QString &)> recoveryAnswer_;
    RecoveryCopy *recovery_ = nullptr;
};

} // namespace sparsity::ui
