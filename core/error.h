#pragma once

#include <stdexcept>
#include <string>

namespace sparsity {

// A failure the user can act on: the message names the file (or object) and what was wrong with it.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string &message) : std::runtime_error(message) {}
};

} // namespace sparsity
