#pragma once

#include "data/dataset.h"
#include "tune/recipe.h"

#include <QString>
#include <QTemporaryDir>

#include <memory>
#include <vector>

class QProcess;

namespace sparsity {

class ProcessGroup;

// Fine-tuning on several processes of this machine (docs/distributed.md): the explorer is rank 0 of a c10d/Gloo group
// on 127.0.0.1 and starts `processes - 1` sparsity-cli workers (`train --no-evaluate`) on the same model file, data,
// preprocessing and recipe; rank 0's weights, thresholds, bands and decisions reach them through the group, and only
// rank 0 writes checkpoints (into `checkpointDir`, which the workers read when the run resumes). Made and used on the training job's thread. Throws sparsity::Error naming what failed.
class LocalTrainingGroup {
public:
    LocalTrainingGroup(int processes, const QString &modelPath, const QString &datasetPath, const Preprocessing &preprocessing,
                       const Recipe &recipe, const QString &checkpointDir);
    ~LocalTrainingGroup(); // workers still running are killed
    LocalTrainingGroup(const LocalTrainingGroup &) = delete;
    LocalTrainingGroup &operator=(const LocalTrainingGroup &) = delete;

    ProcessGroup *group() const { return group_.get(); }
    // After the training returned: waits for the workers (they end with it). Throws an Error naming a worker that
    // failed, with the end of its output, unless the training was cancelled (the workers stop with an error then).
    void finish(bool cancelled);
    // What the workers that already ended said, for a failure on rank 0 ("" when none failed).
    QString workerFailures() const;

private:
    QTemporaryDir dir_;
    std::vector<std::unique_ptr<QProcess>> workers_;
    std::shared_ptr<ProcessGroup> group_;
};

} // namespace sparsity
