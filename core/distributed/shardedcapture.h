#pragma once

#include "capture/capture.h"

#include <atomic>
#include <vector>

namespace sparsity {

class ProcessGroup;

// The images of `indices` a rank captures: whole batches of `batchSize`, a contiguous run of them per rank, so every
// batch is the one a single process would run.
std::vector<std::size_t> shardedIndices(const std::vector<std::size_t> &indices, std::size_t batchSize, int rank, int world);

// capture() of `indices` split over the group: each rank captures its part, the parts are exchanged and merged in
// rank order (mergeCaptures), and every rank returns the merged result: the same counts, histograms, per-channel and
// spatial counts, accuracy and predictions as one process capturing all of them. Without a group (null, or one rank)
// it is capture().
CaptureResult captureSharded(ProcessGroup *group, Model &model, const Dataset &dataset, const Preprocessing &preprocessing,
                             const std::vector<std::size_t> &indices, const CaptureOptions &options = {},
                             const std::atomic<bool> *cancel = nullptr, const CaptureCallback &progress = {});

} // namespace sparsity
