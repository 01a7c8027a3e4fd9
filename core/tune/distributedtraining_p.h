#pragma once
// Internal to core/tune: what train() does differently in a group of processes (docs/distributed.md). Every
// function is a collective where it takes the group: all ranks call it at the same point.

#include "distributed/processgroup.h"
#include "tune/checkpoint_p.h"
#include "tune/recipe.h"

#include <torch/torch.h>

#include <cstddef>
#include <vector>

namespace sparsity::detail {

// Refuses what the group cannot train like one process: a batch size the ranks cannot share evenly.
void checkDistributable(const Recipe &recipe, const ProcessGroup &group);

// Rank 0's parameters and buffers on every rank.
void broadcastWeights(ProcessGroup &group, torch::jit::Module &module);

// Rank 0's decisions (thresholds, per-channel thresholds, bands) on every rank.
void broadcastDecisions(ProcessGroup &group, Checkpoint &decisions, const std::string &what);

// The images of an epoch's global order that this rank trains on: from each global batch of `batchSize`, its
// contiguous part (shardOf). With a batch size divisible by the group size every local batch but the last has
// batchSize / size images and lines up with one global batch.
std::vector<std::size_t> rankOrder(const std::vector<std::size_t> &order, std::size_t batchSize, int rank, int world);

// The images of global batch `step` (the last one may be short) and this rank's share of them.
std::size_t globalBatchImages(std::size_t trainCount, std::size_t batchSize, int step);

// Hoyer-square terms of the whole global batch from every rank's parts (one allreduce), as a local surrogate whose
// gradient, averaged over the ranks, is the global term's; `value` receives the term itself (weights applied).
at::Tensor globalHoyer(ProcessGroup &group, const std::vector<ProbeState::HoyerParts> &parts, double *value);

// Synchronised BatchNorm for ProbeState::trainingBatchNorm: per-channel sums and sums of squares of the local
// images, summed over the ranks by a differentiable allreduce (its backward is an allreduce of the gradients), so
// every rank normalises with the global batch's mean and (biased) variance, the running statistics take the global
// unbiased variance, and the gradient reaching each rank's input is that of the global batch norm.
std::function<at::Tensor(const at::Tensor &, const c10::optional<at::Tensor> &, const c10::optional<at::Tensor> &,
                         const c10::optional<at::Tensor> &, const c10::optional<at::Tensor> &, double, double)>
synchronisedBatchNorm(ProcessGroup &group);

// Every rank's gradients become the mean over the ranks (bucketed allreduce); parameters without a gradient this
// step count as zero.
void averageGradients(ProcessGroup &group, const std::vector<at::Tensor> &params);

} // namespace sparsity::detail
