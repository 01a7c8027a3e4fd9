#pragma once

#include <string>

namespace sparsity {

class Model;

// Tuned weights kept beside a project: every parameter and buffer of a Model, so a fine-tuned state survives
// closing the program without exporting a new model (the input model is never overwritten).

// Writes the model's current parameters and buffers to `path` (written whole to a temporary file, then renamed).
// Throws sparsity::Error naming the file when it cannot be written.
void saveWeights(const Model &model, const std::string &path);

// Replaces the model's parameters and buffers with those stored at `path`. Throws sparsity::Error naming the file
// when it is missing, not a weights file (or damaged), or written for another model (a tensor missing, extra or
// of another shape); the model is unchanged then.
void loadWeights(Model &model, const std::string &path);

} // namespace sparsity
