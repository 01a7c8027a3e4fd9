#pragma once

#include "tune/thresholdsearch.h"

namespace sparsity {

// SearchOptions::Strategy::Greedy on the given (depth-sorted, sparsifiable) sites; see greedysearch.cpp.
// Classifiers with labelled calibration data only (throws sparsity::Error otherwise).
SearchResult greedyThresholdSearch(Model &model, const std::vector<Batch> &calibration, const SearchOptions &options,
                                   const std::vector<int> &scope, const std::atomic<bool> *cancel,
                                   const std::function<void(const SearchProgress &)> &progress);

} // namespace sparsity
