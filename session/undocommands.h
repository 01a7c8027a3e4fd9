#pragma once

#include "session.h"

#include <QUndoCommand>

#include <memory>
#include <vector>

namespace sparsity {

// One site's threshold, scope membership or near-zero band. Commands of one drag (same merge session, not 0)
// merge into a single undo step, so undo returns to where the drag started. A threshold replaces the site's
// per-channel thresholds (they would override it); undo brings them back.
class ChangeSiteValue : public QUndoCommand {
public:
    ChangeSiteValue(Session *doc, SiteField field, int site, double value, int mergeSession);
    void undo() override;
    void redo() override;
    int id() const override { return 1; }
    bool mergeWith(const QUndoCommand *other) override;

private:
    Session *doc_;
    SiteField field_;
    int site_;
    double old_, new_;
    std::vector<float> oldChannels_;
    int session_;
};

// Every threshold at once: a search result, a reset, a project's thresholds. Per-channel thresholds become
// `channels` (none given: dropped, one value per site); undo restores both.
class ChangeThresholds : public QUndoCommand {
public:
    ChangeThresholds(Session *doc, std::vector<float> thresholds, std::vector<std::vector<float>> channels,
                     const QString &text);
    void undo() override;
    void redo() override;

private:
    Session *doc_;
    std::vector<float> old_, new_;
    std::vector<std::vector<float>> oldChannels_, newChannels_;
};

// A finished training run: the tuned model and its thresholds become the current state; undo returns to the model
// and thresholds from before the run (the baseline capture is untouched either way).
class ApplyTraining : public QUndoCommand {
public:
    ApplyTraining(Session *doc, std::shared_ptr<Model> model, std::vector<float> thresholds,
                  std::vector<std::vector<float>> channelThresholds, const QString &text);
    void undo() override { doc_->setCurrentModel(oldModel_, old_, oldChannels_); }
    void redo() override { doc_->setCurrentModel(newModel_, new_, newChannels_); }

private:
    Session *doc_;
    std::shared_ptr<Model> oldModel_, newModel_;
    std::vector<float> old_, new_;
    std::vector<std::vector<float>> oldChannels_, newChannels_;
};

} // namespace sparsity
