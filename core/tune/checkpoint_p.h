#pragma once
// Internal to core/tune: the training checkpoint (weights, thresholds, bands, optimizer state) that makes a resumed
// run continue exactly (training.cpp).

#include "graph/model_p.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace sparsity::detail {

// Everything a resumed run needs to continue exactly where the checkpoint was written.
struct Checkpoint {
    int epochsDone = 0;
    std::vector<float> thresholds, bands;
    std::vector<std::vector<float>> channelThresholds; // per site, empty = the scalar applies
    bool hasChannelThresholds = true;                  // false: a checkpoint from before they were stored
    std::vector<std::vector<float>> channelBands;      // per site, empty = the site's band applies
};

void saveCheckpoint(const std::string &path, Model::Impl &d, torch::optim::Optimizer &optimizer, const Checkpoint &c);
// Reads every value with its dtype and shape checked, the weights last (a checkpoint of another model is refused
// before any weight is replaced); throws Error naming `path`.
Checkpoint loadCheckpoint(const std::string &path, Model::Impl &d, std::size_t sites);
void loadOptimizerState(const std::string &path, torch::optim::Optimizer &optimizer);

} // namespace sparsity::detail
