#pragma once

// sparsity-cli in a group of processes (docs/distributed.md): joining the group PyTorch's launchers describe in the
// environment, and `--nproc N`, which starts the N ranks on this machine itself.
#include <QString>
#include <QStringList>

namespace sparsity {
class ProcessGroup;
}

namespace sparsity::cli {

// The group this process belongs to, or null when it runs alone.
ProcessGroup *cliGroup();
bool cliLeader(); // rank 0, or alone: the process that prints and writes

// Joins the group when RANK, WORLD_SIZE, ... describe one (WORLD_SIZE > 1). `command` must be one that runs in a
// group (analyze, train, compare); others are refused. Throws sparsity::Error.
void joinGroupFromEnvironment(const QString &command);
bool launchedInGroup(); // WORLD_SIZE > 1 in the environment

// Starts `processes` copies of this program with `arguments` (the command line without --nproc) as ranks 0..N-1 of a
// group on 127.0.0.1 and waits for them. Rank 0's output is this command's; a rank that fails or is killed stops the
// others, and the message names it. Returns the exit code (0 when every rank succeeded).
int launchRanks(int processes, const QStringList &arguments, bool quiet);

} // namespace sparsity::cli
