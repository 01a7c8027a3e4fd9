#pragma once

#include "capture/capture.h"
#include "tune/comparison.h"
#include "hardware/processorpreset.h"
#include "io/project.h"
#include "tune/recipe.h"
#include "tune/thresholdsearch.h"
#include "tune/training.h"
#include "hardware/workload.h"

#include <QObject>
#include <QThreadPool>
#include <QVector>

#include <atomic>
#include <memory>
#include <vector>

class QTemporaryDir;
class QTimer;
class QUndoStack;

namespace sparsity {
class Dataset;
class Model;
struct Site;
}

namespace sparsity::ui {

// One finished capture and what it ran with: the GUI never reads the Model's live probe state.
struct Snapshot {
    CaptureResult result;
    std::vector<float> thresholds; // the thresholds the capture ran with
    std::vector<std::vector<float>> channelThresholds; // per site, empty = scalar threshold
    std::vector<bool> executed;    // per site: ran in this capture
    Workload workload;             // workloadFromStats of this capture
};

// One finished fine-tuning run (core/training.h): the tuned model (a separate copy of the project's model, its
// weights changed) and what train() reported.
struct TrainingOutcome {
    std::shared_ptr<Model> model;
    TrainingResult result;
    std::vector<EpochReport> epochs;
    Recipe recipe;
    QString checkpointDir;
};

// A finished method comparison (core/comparison.h) with the fine-tuned model of every row, so any row can become
// the current state.
struct ComparisonOutcome {
    MethodComparison comparison;
    std::vector<std::shared_ptr<Model>> models; // parallel to comparison.methods
};

// Per-site values a user edits; each has its own undo command (undocommands.h).
enum class SiteField { Threshold, Scope, Band };

// The open project: model, dataset, thresholds, the undo stack, the baseline capture and the current one.
// Views read from it and change it only by pushing commands. Captures run on a worker thread one at a time;
// re-evaluations follow "latest result wins": every job gets an id and results of superseded jobs are dropped.
class Document : public QObject {
    Q_OBJECT
public:
    enum class JobKind { Baseline, Current, Search, Training };

    explicit Document(QObject *parent = nullptr);
    ~Document() override;

    // Opening. Each throws sparsity::Error with a message for the user and leaves the document unchanged.
    void openProject(const Project &project, const QString &path);
    void openModel(const QString &path);
    void openDataset(const QString &path, Split split, const SubsetSpec &subset, const Preprocessing *preprocessing);
    void clear();

    const Project &project() const { return project_; }
    // The project as it would be saved now: thresholds, scope and bands from the current edits.
    Project projectToSave() const;
    QString projectPath() const { return projectPath_; }
    // Writes the project to `path` and, when the current state is tuned, its weights beside it
    // (NAME.weights.pt, core/weights.h) first, then marks the document saved. Throws sparsity::Error naming the
    // file; a failed save leaves the previous files as they were.
    void saveProjectTo(const QString &path);
    // A new file name for the tuned weights of a project saved at `projectPath` (unique per save).
    static QString weightsPathFor(const QString &projectPath);
    void markSaved(const QString &path);
    bool isModified() const;
    QUndoStack *undoStack() const { return undoStack_; }

    bool hasModel() const { return bool(model_); }
    bool hasDataset() const { return bool(dataset_); }
    const Dataset *dataset() const { return dataset_.get(); }
    const std::vector<Site> &sites() const;
    int siteCount() const { return int(sites().size()); }
    int siteByName(const QString &name) const; // -1 when absent
    bool siteExecuted(int site) const;
    QString modelName() const;
    const Preprocessing &preprocessing() const { return preprocessing_; }
    const std::vector<std::size_t> &indices() const { return indices_; }
    // Dataset indices whose feature maps the captures keep for the heatmap, in subset order.
    const std::vector<std::size_t> &keptIndices() const { return kept_; }
    // Chooses those images (stored in the project): indices outside the subset are dropped, at most
    // kMaxKeptImages are used, an empty list means the first ones of the subset. Recaptures so that the
    // heatmap has their maps. Returns the indices kept.
    std::vector<std::size_t> setKeptIndices(const std::vector<std::size_t> &datasetIndices);
    // A few, because a large network's maps cost tens of MB per image and both captures keep them.
    static constexpr std::size_t kMaxKeptImages = 6;
    QStringList classNames() const;

    // Edits. set*() apply directly (used by undo commands); push*() create the undoable command.
    double siteValue(SiteField field, int site) const;
    void setSiteValue(SiteField field, int site, double value);
    void setThresholds(const std::vector<float> &thresholds);
    // One site's per-channel thresholds (empty: its scalar applies again). Used by the undo commands.
    void setSiteChannelThresholds(int site, const std::vector<float> &channels);
    void pushSiteValue(SiteField field, int site, double value, int mergeSession = 0);
    // `channels`: the per-channel thresholds that go with them (none: dropped, one value per site).
    void pushThresholds(const std::vector<float> &thresholds, const QString &text,
                        const std::vector<std::vector<float>> &channels = {});
    const std::vector<float> &thresholds() const { return thresholds_; }
    const std::vector<std::vector<float>> &channelThresholds() const { return channelThresholds_; }
    int newMergeSession() { return ++mergeSession_; }

    // Results. Null until the first capture finished.
    std::shared_ptr<const Snapshot> baseline() const { return baseline_; }
    std::shared_ptr<const Snapshot> current() const { return current_; }
    // True when `current()` ran with exactly the thresholds being shown.
    bool currentIsExact() const;
    double baselineSparsity(int site) const; // -1 when unknown
    // Exact when the current capture matches the thresholds, else an estimate from the histograms.
    double currentSparsity(int site, bool *estimate = nullptr) const;
    double estimatedSparsity(int site, double threshold) const;
    // The stats an estimate at `threshold` is read from: the capture whose own threshold was the highest <= it.
    const SiteStats *statsFor(int site, double threshold) const;

    // Hardware projection, recomputed after every edit (cheap).
    const std::vector<PresetEntry> &presets() const { return presets_; }
    int presetIndex() const { return presetIndex_; }
    void setPresetIndex(int index);
    // Where user presets live (an edited copy of a built-in one goes here).
    static QString userPresetDir();
    // Re-reads the preset folders and selects the preset stored at `selectPath` (when given and valid).
    void reloadPresets(const QString &selectPath = QString());
    bool hasProjection() const { return hasProjection_; }
    const Evaluation &denseEvaluation() const { return dense_; }
    const Evaluation &baselineEvaluation() const { return baselineEval_; }
    const Evaluation &currentEvaluation() const { return currentEval_; }
    const Workload &currentWorkload() const { return currentWorkload_; }
    double latencyShare(int site) const; // of the current projection's total stage cycles, -1 when unknown

    int selectedSite() const { return selectedSite_; }
    void setSelectedSite(int site);

    // Jobs.
    void startBaselineCapture();
    void requestReevaluation(); // coalesced a little, latest wins
    void cancelJobs();
    // Threshold search (core/thresholdsearch.h) on the first `calibrationImages` of the subset, starting from the
    // current thresholds; the result is pushed as one undoable step.
    void startThresholdSearch(const SearchOptions &options, std::size_t calibrationImages);
    // Fine-tuning (core/training.h) of a fresh copy of the model file, starting from the current thresholds, on the
    // dataset's training split (validation on its test split), on its own worker so the views stay live. Progress
    // arrives as trainingStep/trainingEpoch; when it finishes the tuned model and thresholds become the current
    // state as one undoable step (the baseline capture stays) and the current capture runs again.
    void startTraining(const Recipe &recipe, const QString &checkpointDir, bool resume);
    void cancelTraining();
    bool isTraining() const { return bool(latest_[int(JobKind::Training)]); }
    // Suspends the running training (or comparison) before its next optimizer step; cancel still works.
    void setTrainingPaused(bool paused);
    bool isTrainingPaused() const;
    // Where checkpoints go: next to the project file, or a temporary folder for an unsaved project.
    QString defaultCheckpointDir();
    // The recipe stored in the project (the default STAR recipe when the project has none or an unreadable one).
    Recipe recipe() const;
    void setRecipe(const Recipe &recipe); // marks the project modified when it changes
    // The model the current state runs (tuned after a training run) and the one the baseline ran.
    std::shared_ptr<const Model> model() const { return model_; }
    bool isTuned() const { return model_ != baseModel_; }
    // Used by the undo command of a training run: the model and thresholds of the current state.
    // `channels`: per-channel thresholds per site (empty entries: the scalar applies).
    void setCurrentModel(const std::shared_ptr<Model> &model, const std::vector<float> &thresholds,
                         const std::vector<std::vector<float>> &channels);
    std::shared_ptr<Model> currentModel() const { return model_; }
    // Writes the current state (model, thresholds) as OUT.pt via Model::exportThresholded, with OUT.json (the report:
    // model, dataset, thresholds, the current capture when it matches, the training run) and OUT.csv (per site),
    // the formats `sparsity-cli export` writes. Waits for a running capture first. Never writes over the input
    // model. Returns the files written; throws sparsity::Error naming the file on failure.
    QStringList exportTunedModel(const QString &outPath);
    // Runs ReLU / threshold-only / L1-only / STAR (those in `methods`) with the budget of the STAR recipe `star`, each
    // on a fresh copy of the model file, evaluated on the project's images; on the training worker (isTraining() is
    // true meanwhile). Ends with comparisonFinished; lastComparison() holds the rows.
    void startComparison(const Recipe &star, const std::vector<Recipe::Method> &methods);
    std::shared_ptr<const ComparisonOutcome> lastComparison() const { return lastComparison_; }
    // Makes row `row` of the last comparison the current state (one undoable step).
    void applyComparisonRow(int row);
    // The last finished run (null before one finished).
    std::shared_ptr<const TrainingOutcome> lastTraining() const { return lastTraining_; }

    bool isBusy() const { return pending_ > 0; }
    void waitForIdle(); // tests and shutdown

Q_SIGNALS:
    void modelChanged();   // model, dataset or subset replaced: everything resets
    void keptIndicesChanged(); // other heatmap images chosen; their maps arrive with the next captures
    void thresholdsChanged(const QVector<int> &sites);
    void siteValueChanged(sparsity::ui::SiteField field, int site);
    void baselineChanged();
    void currentChanged();
    void projectionChanged();
    void presetsChanged();
    void selectedSiteChanged(int site);
    void modifiedChanged(bool modified);
    void projectPathChanged(const QString &path);
    void jobStarted(const QString &description);
    void jobProgress(qint64 done, qint64 total, double etaSeconds);
    void jobFinished(bool cancelled);
    void jobFailed(const QString &message);
    void thresholdSearchFinished(const QString &summary);
    void trainingStarted(bool resume);
    void trainingStep(const sparsity::TrainingStep &step);
    void trainingEpoch(const sparsity::EpochReport &epoch);
    void trainingMessage(const QString &message);
    void trainingPausedChanged(bool paused);
    // applied: the tuned state became the current state (else cancelled or failed; finished epochs stay in the
    // checkpoint folder).
    void trainingFinished(bool applied, const QString &summary);
    void trainingFailed(const QString &message); // a training run or a comparison threw (bad data or checkpoint)
    void comparisonProgress(int methodIndex, int methodCount, const QString &method);
    // completed: every method ran (else cancelled or failed; the rows that finished are in lastComparison()).
    void comparisonFinished(bool completed, const QString &summary);

private:
    struct Job;
    void resetState();
    void chooseKept(); // kept_ from the project's heatmap images, else the first of the subset
    void applyProjectEdits();
    void runJob(JobKind kind);
    std::shared_ptr<Job> newJob(JobKind kind);
    void finishJob(const std::shared_ptr<Job> &job);
    void finishSearch(const std::shared_ptr<Job> &job);
    void finishTraining(const std::shared_ptr<Job> &job);
    void finishComparison(const std::shared_ptr<Job> &job);
    void updateProjection();
    void setStructuralChange();

    Project project_;
    QString projectPath_;
    std::shared_ptr<Model> model_, baseModel_; // baseModel_: as loaded; model_ differs after a training run
    std::shared_ptr<Dataset> dataset_;
    Preprocessing preprocessing_;
    std::vector<std::size_t> indices_, kept_;
    QUndoStack *undoStack_;
    bool structuralChange_ = false;
    bool lastModified_ = false;

    std::vector<float> initialThresholds_, thresholds_;
    std::vector<double> bands_;
    std::vector<std::vector<float>> channelThresholds_; // per site, empty = the scalar threshold (from the project)
    std::vector<bool> scope_, executed_;
    std::shared_ptr<const Snapshot> baseline_, current_;
    int selectedSite_ = -1;
    int mergeSession_ = 0;

    std::vector<PresetEntry> presets_;
    int presetIndex_ = -1;
    bool hasProjection_ = false;
    Evaluation dense_, baselineEval_, currentEval_;
    Workload currentWorkload_;

    QThreadPool pool_; // one thread: captures on one Model run one after another
    QThreadPool trainingPool_; // one thread: training works on its own copy of the model and its own datasets
    std::shared_ptr<Job> latest_[4];
    std::shared_ptr<const TrainingOutcome> lastTraining_;
    std::shared_ptr<const ComparisonOutcome> lastComparison_;
    std::unique_ptr<QTemporaryDir> tempCheckpoints_;
    int nextJobId_ = 0;
    int pending_ = 0;
    QTimer *reevaluateTimer_;
};

} // namespace sparsity::ui
