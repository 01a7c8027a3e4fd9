#pragma once
// Models are data, not code we trust: before a TorchScript archive is loaded into this process, a short-lived child
// process (sparsity-modelcheck) loads it the way the engine will, under a memory and a time limit. A file that
// crashes LibTorch's unpickler, reads out of bounds or exhausts memory ends the child, not the explorer or the CLI.
// docs/hostile-input.md describes the trust model.

#include <string>

namespace sparsity {

// What the child loads: a TorchScript model as Model::load does, or a tensor archive (a tuned-weights file or a
// training checkpoint, torch::serialize) as weights.cpp and checkpoint.cpp read one, every entry.
enum class QuarantinedFile { Model, TensorArchive };

struct QuarantineLimits {
    int timeoutMs = 120000;     // wall clock for the child's load
    long long memoryMiB = 0;    // address-space limit of the child; 0: 3 GiB + 4x the file's size
};

// Checks `path` in the child process; returns when the child loaded it. Throws sparsity::Error naming the file
// and the problem (the child's own error, or how it ended: signal, time limit, memory limit) otherwise, and when
// the checker cannot be found (it is looked up in $SPARSITY_MODELCHECK, beside the running executable, and in
// ../app/ beside it for the build tree).
// `loadedSha256`, when given, receives the SHA-256 (hex) of the bytes the child loaded.
void checkModelInQuarantine(const std::string &path, const QuarantineLimits &limits = {},
                            std::string *loadedSha256 = nullptr, QuarantinedFile kind = QuarantinedFile::Model);

// The same for the file's contents `bytes` as this process read them, once per content: bytes whose SHA-256 passed
// before, in this process or in an earlier one (recorded in $XDG_CACHE_HOME/sparsity-explorer/checked-models/;
// SPARSITY_MODELCHECK_CACHE=0 turns the record off), are not checked again. Only contents that passed are recorded.
void checkModelOnce(const std::string &path, const std::string &bytes, QuarantinedFile kind = QuarantinedFile::Model);

// Whether Model::load (and the weights and checkpoint readers) check in quarantine first. The checker itself turns it off (it is the quarantine).
void setModelQuarantine(bool enabled);
bool modelQuarantine();

// The checker's side: loads `path` as Model::load does. Returns the process exit code (0 loaded, 1 refused with
// the message on stderr). `memoryMiB` > 0 limits the address space first (not under AddressSanitizer, which
// reserves terabytes of shadow memory).
int runModelCheck(const std::string &path, long long memoryMiB, QuarantinedFile kind = QuarantinedFile::Model);

} // namespace sparsity
