#pragma once

namespace sparsity {

// Sets LibTorch's intra-op thread count (the command line's --threads). Call before any model work: afterwards
// initTorchThreads() no longer changes it. n < 1 keeps the default (one thread per core).
void setComputeThreads(int n);
int computeThreads();

} // namespace sparsity
