#pragma once
// Outputs never touch inputs: before a command writes anything, every output path is compared with every input
// path (by canonical path and by device and inode, so "./t.json", a hard link or a symlink to it all count as the
// same file), and an output that is a symbolic link is refused (writing would follow it to somewhere else).
// Files are then written through a unique temporary created exclusively beside the target and renamed into place.

#include <string>
#include <vector>

namespace sparsity {

// A path and what it is to the command ("model", "dataset", "thresholds file", "report"), for messages.
struct RolePath {
    std::string path;
    std::string role;
};

// Throws sparsity::Error naming the output, the input and the problem when an output is one of the inputs, lies
// where an input folder is, is a symlink, is a folder, or two outputs are the same file. Empty paths are ignored.
void checkOutputPaths(const std::vector<RolePath> &outputs, const std::vector<RolePath> &inputs);

// A new, empty file beside `target` with a unique name ("<name>.XXXXXX.partial"), created exclusively (it can
// not be an existing file or a planted symlink). The caller writes it and then renames or removes it.
std::string createTemporaryBeside(const std::string &target);

// Writes `bytes` to `target` atomically: a temporary from createTemporaryBeside(), fsync, rename over `target`.
// Refuses when `target` is a symlink. Throws sparsity::Error naming `target`; the previous file is then unchanged.
void writeFileAtomically(const std::string &target, const std::string &bytes);

// Renames `temporary` over `target` (refusing a symlinked target); removes `temporary` and throws on failure.
void moveIntoPlace(const std::string &temporary, const std::string &target);

} // namespace sparsity
