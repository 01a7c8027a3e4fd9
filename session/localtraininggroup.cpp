#include "localtraininggroup.h"

#include "distributed/processgroup.h"
#include "error.h"
#include "io/project.h"
#include "io/siblingprogram.h"

#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>

#include <algorithm>
#include <chrono>
#include <thread>

namespace sparsity {

namespace {

// How long rank 0 waits for a worker: a worker that has not joined or answered by then has failed. The workers wait
// far longer for rank 0, which searches thresholds alone and may be paused.
constexpr std::chrono::seconds kWorkerTimeout{120};

} // namespace

LocalTrainingGroup::LocalTrainingGroup(int processes, const QString &modelPath, const QString &datasetPath,
                                       const Preprocessing &preprocessing, const Recipe &recipe, const QString &checkpointDir)
{
    const QString cli = siblingProgram("sparsity-cli", "SPARSITY_CLI");
    if (cli.isEmpty())
        throw Error("distributed fine-tuning needs sparsity-cli beside this program (or SPARSITY_CLI naming it)");
    if (!dir_.isValid())
        throw Error("distributed fine-tuning: cannot create a temporary folder for the workers' files");
    // The workers read the same files as the explorer; only the preprocessing and the recipe are written out.
    Project project;
    project.modelPath = modelPath;
    project.datasetPath = datasetPath;
    project.hasPreprocessing = true;
    project.preprocessing = preprocessing;
    const QString projectPath = dir_.filePath(QStringLiteral("workers.sparsity"));
    const QString recipePath = dir_.filePath(QStringLiteral("recipe.json"));
    saveProject(project, projectPath);
    recipe.save(recipePath.toStdString());

    const LaunchEnvironment environment{0, processes, 0, "127.0.0.1", freeLoopbackPort()};
    const int threads = std::max(1, int(std::thread::hardware_concurrency()) / processes);
    for (int r = 1; r < processes; ++r) {
        auto e = QProcessEnvironment::systemEnvironment();
        LaunchEnvironment place = environment;
        place.rank = place.localRank = r;
        for (const auto &[name, value] : place.variables())
            e.insert(QString::fromStdString(name), QString::fromStdString(value));
        e.insert(QStringLiteral("SPARSITY_THREADS"), QString::number(threads));
        e.insert(QStringLiteral("SPARSITY_DIST_TIMEOUT"), QString::number(7 * 24 * 3600)); // a paused explorer holds them
        auto worker = std::make_unique<QProcess>();
        worker->setProcessEnvironment(e);
        worker->setStandardOutputFile(QProcess::nullDevice());
        worker->setStandardErrorFile(dir_.filePath(QStringLiteral("worker-%1.log").arg(r)));
        worker->start(cli, {QStringLiteral("train"), QStringLiteral("--project"), projectPath, QStringLiteral("--recipe"),
                            recipePath, QStringLiteral("--checkpoints"), checkpointDir,
                            QStringLiteral("--no-evaluate"), QStringLiteral("-q")});
        if (!worker->waitForStarted(10000))
            throw Error("distributed fine-tuning: cannot start worker " + std::to_string(r) + " (" + cli.toStdString() +
                        "): " + worker->errorString().toStdString());
        workers_.push_back(std::move(worker));
    }
    try {
        group_ = ProcessGroup::join(environment, kWorkerTimeout);
    } catch (const Error &e) {
        throw Error(std::string(e.what()) + workerFailures().toStdString());
    }
}

LocalTrainingGroup::~LocalTrainingGroup()
{
    group_.reset(); // closes the sockets: a worker still in a collective fails at once
    for (auto &w : workers_)
        if (w->state() != QProcess::NotRunning && !w->waitForFinished(3000)) {
            w->kill();
            w->waitForFinished(3000);
        }
}

QString LocalTrainingGroup::workerFailures() const
{
    QString text;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        QProcess &w = *workers_[i];
        // A worker that failed is usually still exiting when rank 0's collective breaks.
        if (w.state() != QProcess::NotRunning && !w.waitForFinished(2000))
            continue;
        if (w.exitStatus() == QProcess::NormalExit && w.exitCode() == 0)
            continue;
        QFile log(dir_.filePath(QStringLiteral("worker-%1.log").arg(i + 1)));
        QString said = log.open(QIODevice::ReadOnly) ? QString::fromUtf8(log.readAll()).trimmed() : QString();
        if (said.size() > 1000)
            said = QStringLiteral("…") + said.right(1000);
        text += QStringLiteral("; worker %1 (sparsity-cli, rank %1) %2%3")
                    .arg(i + 1)
                    .arg(w.exitStatus() == QProcess::CrashExit ? QStringLiteral("was killed or crashed")
                                                               : QStringLiteral("exited with code %1").arg(w.exitCode()))
                    .arg(said.isEmpty() ? QString() : QStringLiteral(": ") + said);
    }
    return text;
}

void LocalTrainingGroup::finish(bool cancelled)
{
    for (auto &w : workers_)
        if (w->state() != QProcess::NotRunning && !w->waitForFinished(int(std::chrono::milliseconds(kWorkerTimeout).count())))
            w->kill();
    if (cancelled)
        return;
    const QString failures = workerFailures();
    if (!failures.isEmpty())
        throw Error("distributed fine-tuning finished on rank 0, but" + failures.mid(1).toStdString());
}

} // namespace sparsity
