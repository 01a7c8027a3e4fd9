#pragma once

namespace sparsity {

// Sets LibTorch's intra-op thread count (the command line's --threads). Call before any model work: afterwards
// initTorchThreads() no longer changes it. n < 1 keeps the default (one thread per core).
void setComputeThreads(int n);
int computeThreads();

// The statistics pass has a hand-vectorised AVX-512 kernel (each element read once; only positive values reach
// the histogram counters) used when the CPU has AVX-512. Off: the portable, compiler-vectorised pass. Both give
// identical statistics; tests run both.
bool compressedStatisticsAvailable();
void setCompressedStatistics(bool enabled);

// While capturing, a ReLU site fed only by an inference BatchNorm (and a residual add) computes them in its own pass
// (Model::batchNormFolds). On by default; off, capture runs the model's BatchNorm and add as they are (benchmarks
// print both).
void setBatchNormFolding(bool enabled);
bool batchNormFolding();

} // namespace sparsity
