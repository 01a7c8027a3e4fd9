#pragma once

#include <QString>

namespace sparsity {

// The path of one of this project's programs (sparsity-modelcheck, sparsity-cli) installed beside the running one:
// in its folder, or in ../app (tests and benchmarks run from their own build folders). `environment` names a
// variable that overrides it. Empty when not found.
QString siblingProgram(const char *name, const char *environment);

} // namespace sparsity
