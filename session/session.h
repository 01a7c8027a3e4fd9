#pragma once

#include "changeevent.h"
#include "hardware/processor.h"
#include "hardware/processorpreset.h"
#include "hardware/workload.h"
#include "io/project.h"
#include "jobs.h"

#include <QObject>
#include <QThreadPool>

#include <memory>
#include <vector>

class QTemporaryDir;
class QTimer;
class QUndoStack;

namespace sparsity {

class Dataset;
class JobTracker;
struct JobReport;
class Model;
struct Site;

// The open project, shared by every view of the explorer and usable without any widget (tests/tst_session.cpp):
// model, dataset, thresholds, the undo stack, the baseline capture and the current one, the hardware projection
// and the background jobs. Views read from it, change it only by pushing commands, and follow it through one typed
// notification, changed(ChangeEvent). Jobs run on workers, one capture at a time; jobs() announces them and drops
// superseded results ("latest wins").
class Session : public QObject {
    Q_OBJECT
public:
    explicit Session(QObject *parent = nullptr);
    ~Session() override;

    // ---- Opening (session.cpp). Each throws sparsity::Error with a message for the user and leaves the session
    // unchanged.
    void openProject(const Project &project, const QString &path);
    // An unsaved state from before a crash (RecoveryCopy): opened as openProject() does, then marked modified, so it
    // is saved on purpose (to `path`, the file it belongs to, when it had one).
    void openRecoveredProject(const Project &project, const QString &path);
    void openModel(const QString &path);
    void openDataset(const QString &path, Split split, const SubsetSpec &subset, const Preprocessing *preprocessing);
    void clear();

    const Project &project() const { return project_; }
    // The project as it would be saved now: thresholds, scope and bands from the current edits.
    Project projectToSave() const;
    QString projectPath() const { return projectPath_; }
    // Writes the project to `path` and, when the current state is tuned, its weights beside it
    // (NAME.weights-*.pt, core/graph/weights.h) first, then marks the session saved. Throws sparsity::Error naming
    // the file; a failed save leaves the previous files as they were.
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

    // ---- Edits (edits.cpp). set*() apply directly (used by undo commands); push*() create the undoable command.
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
    // When a whole evaluation of the subset took longer than this, a re-evaluation shows an exact evaluation of a
    // stratified slice of it first (Snapshot::sliceOf): 1/kSliceShare of the subset, at least kSliceMinImages.
    void setSliceAfterSeconds(double seconds) { sliceAfterSeconds_ = seconds; }
    static constexpr std::size_t kSliceMinImages = 16, kSliceShare = 8;
    double baselineSparsity(int site) const; // -1 when unknown
    // Exact when the current capture matches the thresholds, else an estimate from the histograms.
    double currentSparsity(int site, bool *estimate = nullptr) const;
    double estimatedSparsity(int site, double threshold) const;
    // The stats an estimate at `threshold` is read from: the capture whose own threshold was the highest <= it.
    const SiteStats *statsFor(int site, double threshold) const;

    // ---- Hardware projection (projection.cpp), recomputed after every edit (cheap).
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

    // ---- Jobs (sessionjobs.cpp). jobs() announces each one (started, progress, finished with a JobReport).
    JobTracker *jobs() const { return jobs_; }
    void startBaselineCapture();
    void requestReevaluation(); // coalesced a little, latest wins
    void cancelJobs();
    // Threshold search (core/tune/thresholdsearch.h) on the first `calibrationImages` of the subset, starting from
    // the current thresholds; the result is pushed as one undoable step.
    void startThresholdSearch(const SearchOptions &options, std::size_t calibrationImages);
    // A sweep (core/tune/sweep.h, SweepJob) of the current model over the subset, projected on the selected preset;
    // it shares the search's slot (starting one cancels the other). lastSweep() holds it when it finished.
    void startSweep(const SweepOptions &options, std::size_t calibrationImages);
    std::shared_ptr<const SweepResult> lastSweep() const { return lastSweep_; }
    // Makes point `index` of the last sweep the current thresholds (one undoable step).
    void applySweepPoint(int index);
    // Fine-tuning (core/tune/training.h) of a fresh copy of the model file, starting from the current thresholds,
    // on the dataset's training split (validation on its test split), on its own worker so the views stay live.
    // Progress arrives as trainingStep/trainingEpoch; when it finishes the tuned model and thresholds become the
    // current state as one undoable step (the baseline capture stays) and the current capture runs again.
    // processes > 1: as a group with processes - 1 sparsity-cli workers on this machine (docs/distributed.md).
    void startTraining(const Recipe &recipe, const QString &checkpointDir, bool resume, int processes = 1);
    void cancelTraining();
    bool isTraining() const;
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
    // Writes the current state (model, thresholds) as the export bundle of core/io/exportbundle.h: OUT.pt, OUT.json
    // (model, dataset, thresholds, the current capture when it matches, the training run) and OUT.csv, as
    // `sparsity-cli export` does. Waits for a running capture first. Never writes over the input model. Returns the
    // files written; throws sparsity::Error naming the file on failure.
    QStringList exportTunedModel(const QString &outPath);
    // Runs ReLU / threshold-only / L1-only / STAR (those in `methods`) with the budget of the STAR recipe `star`,
    // each on a fresh copy of the model file, evaluated on the project's images; on the training worker
    // (isTraining() is true meanwhile). lastComparison() holds the rows when it finished.
    void startComparison(const Recipe &star, const std::vector<Recipe::Method> &methods);
    std::shared_ptr<const ComparisonOutcome> lastComparison() const { return lastComparison_; }
    // Makes row `row` of the last comparison the current state (one undoable step).
    void applyComparisonRow(int row);
    // The last finished run (null before one finished).
    std::shared_ptr<const TrainingOutcome> lastTraining() const { return lastTraining_; }

    bool isBusy() const;
    void waitForIdle(); // tests and shutdown

Q_SIGNALS:
    void changed(const sparsity::ChangeEvent &event);
    // Streamed by a running training or comparison (the training worker's steps, epochs and phase messages).
    void trainingStep(const sparsity::TrainingStep &step);
    void trainingEpoch(const sparsity::EpochReport &epoch);
    void trainingMessage(const QString &message);
    void comparisonProgress(int methodIndex, int methodCount, const QString &method);

private:
    void notify(ChangeEvent::Kind kind, QVector<int> sites = {}, SiteField field = SiteField::Threshold);
    // After a project was opened or closed: the state from project_, a clean undo stack, everything announced.
    void startOver();
    void resetState();
    void chooseKept(); // kept_ from the project's heatmap images, else the first of the subset
    void applyProjectEdits();
    void stopCaptures(); // cancels every job and waits for the capture worker
    void runCapture(JobKind kind);
    void finishCapture(const std::shared_ptr<JobControl> &job, std::shared_ptr<Snapshot> snapshot, const QString &error);
    // The re-evaluations' cache for the current model, subset, preprocessing and kept images (a new one when any
    // of them changed), and the slice to evaluate first when a whole evaluation is slow (empty: none).
    std::shared_ptr<EvaluationCache> evaluationCache();
    std::vector<std::size_t> quickSlice() const;
    void showSlice(std::shared_ptr<Snapshot> slice);
    void finishSearch(const std::shared_ptr<JobControl> &job, std::shared_ptr<SearchResult> result, const QString &error);
    void finishSweep(const std::shared_ptr<JobControl> &job, std::shared_ptr<SweepResult> result, const QString &error);
    // A training or comparison that ended superseded (`stopped`) or with an error (`failed`, %1 the message):
    // reported here, true; false when it has a result to apply.
    bool reportedWithoutResult(const std::shared_ptr<JobControl> &job, JobReport &report, const QString &stopped,
                               const QString &failed);
    void finishTraining(const std::shared_ptr<JobControl> &job, std::shared_ptr<TrainingOutcome> out,
                        const QString &error);
    void finishComparison(const std::shared_ptr<JobControl> &job, std::shared_ptr<ComparisonOutcome> out,
                          const QString &error);
    TrainingCallbacks trainingCallbacks(const std::shared_ptr<JobControl> &job, int epochsTotal);
    void updateProjection();
    void setStructuralChange();
    void setModified(bool modified);

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
    std::shared_ptr<EvaluationCache> evaluationCache_;
    double lastFullSeconds_ = 0.0; // of the last whole evaluation of the subset (baseline or re-evaluation)
    double sliceAfterSeconds_ = 0.5;
    int selectedSite_ = -1;
    int mergeSession_ = 0;

    std::vector<PresetEntry> presets_;
    int presetIndex_ = -1;
    bool hasProjection_ = false;
    Evaluation dense_, baselineEval_, currentEval_;
    Workload currentWorkload_;

    JobTracker *jobs_;
    QThreadPool pool_;         // one thread: captures on one Model run one after another
    QThreadPool trainingPool_; // one thread: training works on its own copy of the model and its own datasets
    std::shared_ptr<const TrainingOutcome> lastTraining_;
    std::shared_ptr<const ComparisonOutcome> lastComparison_;
    std::shared_ptr<const SweepResult> lastSweep_;
    std::unique_ptr<QTemporaryDir> tempCheckpoints_;
    QTimer *reevaluateTimer_;
};

} // namespace sparsity
