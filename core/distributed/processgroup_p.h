#pragma once

#include "distributed/processgroup.h"

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace sparsity::detail {

// Every rank's tensors become the mean over the ranks (summed with allreduce, then divided by the group size).
// Flattened into buckets of at most `bucketBytes`, one allreduce each.
void averageTensors(ProcessGroup &group, const std::vector<at::Tensor> &tensors, const std::string &what,
                    std::size_t bucketBytes = std::size_t(32) << 20);
// Every rank's `tensor` (contiguous) becomes the sum over the ranks, in place.
void allreduceSumInPlace(ProcessGroup &group, at::Tensor &tensor, const std::string &what);
// Rank 0's values into every rank's tensors (same shapes on every rank), in place.
void broadcastTensors(ProcessGroup &group, const std::vector<at::Tensor> &tensors, const std::string &what);

} // namespace sparsity::detail
