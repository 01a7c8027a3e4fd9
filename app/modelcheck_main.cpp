// sparsity-modelcheck: the quarantine for model files (and, with --tensor-archive, tuned weights and checkpoints). Model::load starts it on a file before loading the file
// in its own process; it loads the file the same way under the memory limit it is given. Exit code 0: loaded;
// 1: refused (the reason on stderr); 3: out of memory; killed by a signal: the file crashed LibTorch.
#include "graph/quarantine.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char **argv)
{
    long long memoryMiB = 0;
    std::string path;
    bool havePath = false;
    auto kind = sparsity::QuarantinedFile::Model;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--memory-mib") == 0 && i + 1 < argc) {
            memoryMiB = std::atoll(argv[++i]);
        } else if (std::strcmp(argv[i], "--tensor-archive") == 0) {
            kind = sparsity::QuarantinedFile::TensorArchive;
        } else if (std::strcmp(argv[i], "--") == 0 && i + 1 < argc) {
            path = argv[++i];
            havePath = true;
        }
    }
    if (!havePath) {
        std::fprintf(stderr, "Usage: sparsity-modelcheck [--memory-mib N] [--tensor-archive] -- FILE.pt\n");
        return 2;
    }
    return sparsity::runModelCheck(path, memoryMiB, kind);
}
