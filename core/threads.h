#pragma once

namespace sparsity {

// Sets LibTorch's intra-op thread count (the command line's --threads). Call before any model work: afterwards
// initTorchThreads() no longer changes it. n < 1 keeps the default (one thread per core).
void setComputeThreads(int n);
int computeThreads();

// The statistics scan bins only nonzero activations with AVX-512 compress instructions when the CPU has them
// (about half of a ReLU output is zero). Off: the portable path that bins every element. Both give identical
// statistics; tests run both.
bool compressedStatisticsAvailable();
void setCompressedStatistics(bool enabled);

} // namespace sparsity
