#include "progress.h"

#include <csignal>

namespace sparsity::cli {

std::atomic<bool> g_cancel{false};

extern "C" void onInterrupt(int)
{
    // First Ctrl-C: stop at the next batch (training keeps its last checkpoint). Second: default action.
    g_cancel.store(true);
    std::signal(SIGINT, SIG_DFL);
}

} // namespace sparsity::cli
