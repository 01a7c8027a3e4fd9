#include "distributed.h"

#include "progress.h"

#include "distributed/processgroup.h"
#include "error.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QProcessEnvironment>
#include <QThread>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

namespace sparsity::cli {

namespace {

std::shared_ptr<ProcessGroup> g_group;

} // namespace

ProcessGroup *cliGroup() { return g_group.get(); }
bool cliLeader() { return !g_group || g_group->leader(); }

bool launchedInGroup()
{
    bool ok = false;
    return qEnvironmentVariableIntValue("WORLD_SIZE", &ok) > 1 && ok;
}

void joinGroupFromEnvironment(const QString &command)
{
    const auto environment = LaunchEnvironment::fromEnvironment();
    if (!environment)
        return;
    if (command != QLatin1String("analyze") && command != QLatin1String("train") && command != QLatin1String("compare"))
        throw Error("WORLD_SIZE=" + std::to_string(environment->worldSize) + ": \"" + command.toStdString() +
                    "\" runs in one process; analyze, train and compare run in a group");
    g_group = ProcessGroup::join(*environment);
}

int launchRanks(int processes, const QStringList &arguments, bool quiet)
{
    const int port = freeLoopbackPort();
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    const QProcessEnvironment base = QProcessEnvironment::systemEnvironment();
    std::vector<std::unique_ptr<QProcess>> ranks;
    std::vector<qint64> pids;
    for (int r = 0; r < processes; ++r) {
        QProcessEnvironment e = base;
        for (const auto &[name, value] : LaunchEnvironment{r, processes, r, "127.0.0.1", port}.variables())
            e.insert(QString::fromStdString(name), QString::fromStdString(value));
        // The ranks share this machine's cores: without a cap each would start one OpenMP thread per core and
        // they would spin against each other.
        if (!e.contains(QStringLiteral("SPARSITY_THREADS")))
            e.insert(QStringLiteral("SPARSITY_THREADS"), QString::number(std::max(1, cores / processes)));
        auto process = std::make_unique<QProcess>();
        process->setProcessEnvironment(e);
        process->setProcessChannelMode(QProcess::ForwardedChannels);
        process->setInputChannelMode(QProcess::ForwardedInputChannel);
        process->start(QCoreApplication::applicationFilePath(), arguments.mid(1));
        if (!process->waitForStarted(10000))
            throw Error("--nproc: cannot start rank " + std::to_string(r) + ": " + process->errorString().toStdString());
        pids.push_back(process->processId());
        if (!quiet)
            err(QStringLiteral("rank %1 of %2: pid %3\n").arg(r).arg(processes).arg(pids.back()));
        ranks.push_back(std::move(process));
    }
    // Wait for all. A rank that was killed or crashed is named before one that exited with an error (usually a
    // survivor whose collective broke); the others get a moment to notice before they are killed.
    int failed = -1;
    bool failedByCrash = false;
    std::vector<bool> stoppedHere(std::size_t(processes), false); // killed by this launcher: not a cause
    QElapsedTimer sinceFailure;
    for (;;) {
        bool running = false;
        for (int r = 0; r < processes; ++r) {
            QProcess &p = *ranks[std::size_t(r)];
            if (p.state() != QProcess::NotRunning && !p.waitForFinished(0)) {
                running = true;
                continue;
            }
            const bool crashed = p.exitStatus() == QProcess::CrashExit;
            if (stoppedHere[std::size_t(r)])
                continue;
            if ((crashed || p.exitCode() != 0) && (failed < 0 || (crashed && !failedByCrash))) {
                failed = r;
                failedByCrash = crashed;
                if (!sinceFailure.isValid())
                    sinceFailure.start();
            }
        }
        if (!running)
            break;
        if (failed >= 0 && sinceFailure.elapsed() > 10000)
            for (int r = 0; r < processes; ++r)
                if (ranks[std::size_t(r)]->state() != QProcess::NotRunning) {
                    stoppedHere[std::size_t(r)] = true;
                    ranks[std::size_t(r)]->kill();
                }
        QThread::msleep(50);
    }
    if (failed < 0)
        return 0;
    const QProcess &p = *ranks[std::size_t(failed)];
    err(QStringLiteral("sparsity-cli: %1; the group stopped\n")
            .arg(failedByCrash ? QStringLiteral("rank %1 of %2 (pid %3) was killed or crashed").arg(failed).arg(processes).arg(pids[std::size_t(failed)])
                               : QStringLiteral("rank %1 of %2 exited with code %3").arg(failed).arg(processes).arg(p.exitCode())));
    return failedByCrash ? 1 : p.exitCode();
}

} // namespace sparsity::cli
