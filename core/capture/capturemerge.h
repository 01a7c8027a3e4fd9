#pragma once

#include "capture/capture.h"

#include <string>
#include <vector>

namespace sparsity {

// A capture's result as bytes and back (sharded capture sends each rank's part to the others). Every field,
// kept feature maps included. deserializeCapture throws sparsity::Error on bytes it did not write.
std::string serializeCapture(const CaptureResult &result);
CaptureResult deserializeCapture(const std::string &bytes);

// The result of capturing the parts' images one after the other: counts, histograms, per-channel and spatial
// counts, accuracy, class counts and the confusion matrix are summed (exactly); predictions, indices, kept images
// and skipped examples follow in the parts' order; seconds is the longest part's. Activation sums are added in
// another order than one capture adds its batches, so `SiteStats::sum` may differ from it in the last bits.
CaptureResult mergeCaptures(const std::vector<CaptureResult> &parts);

} // namespace sparsity
